using EdgeRuntime.Models.Sampling;

namespace EdgeRuntime.Tests.Sampling;

public class Xoshiro256StarStarTests
{
    // Expected words from an independent Python transcription of prng.di.unimi.it splitmix64.c (state seeded with four
    // outputs) and xoshiro256starstar.c next(); splitmix64(0)'s first output 0xE220A8397B1DCDAF is the published value.
    [Theory]
    [InlineData(0UL, 0x99ec5f36cb75f2b4UL, 0xbf6e1f784956452aUL, 0x1a5f849d4933e6e0UL, 0x6aa594f1262d2d2cUL)]
    [InlineData(42UL, 0x15780b2e0c2ec716UL, 0x6104d9866d113a7eUL, 0xae17533239e499a1UL, 0xecb8ad4703b360a1UL)]
    public void NextUInt64_MatchesReference_When_Seeded(ulong seed, ulong a, ulong b, ulong c, ulong d)
    {
        var rng = new Xoshiro256StarStar(seed);
        Assert.Equal(new[] { a, b, c, d }, new[] { rng.NextUInt64(), rng.NextUInt64(), rng.NextUInt64(), rng.NextUInt64() });
    }

    [Fact]
    public void NextDouble_StaysInUnitInterval_When_ManyDraws()
    {
        var rng = new Xoshiro256StarStar(7);
        double sum = 0;
        for (int i = 0; i < 100_000; i++)
        {
            double u = rng.NextDouble();
            Assert.InRange(u, 0.0, 1.0 - 1e-17);
            sum += u;
        }
        Assert.InRange(sum / 100_000, 0.49, 0.51);
    }
}
