using EdgeRuntime.Models.Sampling;

namespace EdgeRuntime.Tests.Sampling;

public class SamplerTests
{
    [Fact]
    public void Sample_IsArgmax_When_Greedy()
    {
        var random = new Random(42);
        var sampler = new Sampler(1000, SamplerOptions.Greedy);
        for (int trial = 0; trial < 50; trial++)
        {
            var logits = new float[1008]; // padded head: columns past VocabSize must be ignored
            for (int i = 0; i < logits.Length; i++) logits[i] = (float)(random.NextDouble() * 20 - 10);
            logits[1000 + trial % 8] = 1000f;
            int expected = 0;
            for (int i = 1; i < 1000; i++) if (logits[i] > logits[expected]) expected = i;
            Assert.Equal(expected, sampler.Sample(logits));
        }
    }

    [Fact]
    public void Sample_IgnoresPaddedColumns_When_Sampling()
    {
        var sampler = new Sampler(4, new SamplerOptions { Temperature = 5f, Seed = 3 });
        float[] logits = [0f, 0f, 0f, 0f, 100f, 100f];
        for (int i = 0; i < 2000; i++) Assert.InRange(sampler.Sample(logits), 0, 3);
    }

    [Fact]
    public void Sample_RepeatsSequence_When_SameSeed()
    {
        var options = new SamplerOptions { Temperature = 0.9f, TopK = 40, TopP = 0.95f, MinP = 0.01f, Seed = 1234 };
        var logits = RandomLogits(5000, 1);
        int[] a = Draw(new Sampler(5000, options), logits, 200);
        int[] b = Draw(new Sampler(5000, options), logits, 200);
        int[] c = Draw(new Sampler(5000, options with { Seed = 1235 }), logits, 200);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);

        var again = new Sampler(5000, options);
        Draw(again, logits, 17);
        again.Reset();
        Assert.Equal(a, Draw(again, logits, 200));
    }

    [Fact]
    public void ApplyPenalty_DividesPositiveAndMultipliesNegative_When_TokenSeen()
    {
        // Hugging Face: each distinct earlier id once, logit/p if > 0 else logit*p; hand-computed for p = 2.
        var sampler = new Sampler(6, new SamplerOptions { RepetitionPenalty = 2f, Temperature = 0f });
        sampler.Accept([0, 1, 1, 4, 4, 4, 99]); // 99 is outside the vocabulary: ignored
        float[] logits = [3f, -1.5f, 0.5f, -3f, 0f, 2.5f];
        sampler.ApplyPenalty(logits);
        Assert.Equal(new[] { 1.5f, -3f, 0.5f, -3f, 0f, 2.5f }, logits);
        // Argmax after the penalty: 5 (2.5) beats 0 (3 -> 1.5).
        Assert.Equal(5, sampler.Sample([3f, -1.5f, 0.5f, -3f, 0f, 2.5f]));
    }

    [Fact]
    public void ApplyPenalty_CoversOnlyWindow_When_RepeatLastNSet()
    {
        var sampler = new Sampler(5, new SamplerOptions { RepetitionPenalty = 2f, RepeatLastN = 2 });
        sampler.Accept([0, 1, 2]); // window keeps 1, 2
        float[] logits = [4f, 4f, 4f, 4f, 4f];
        sampler.ApplyPenalty(logits);
        Assert.Equal(new[] { 4f, 2f, 2f, 4f, 4f }, logits);

        sampler.Accept(1); // window: 2, 1
        sampler.Accept(1); // window: 1, 1 -> only 1
        logits = [4f, 4f, 4f, 4f, 4f];
        sampler.ApplyPenalty(logits);
        Assert.Equal(new[] { 4f, 2f, 4f, 4f, 4f }, logits);
    }

    [Fact]
    public void SelectLargest_PutsTopKFirst_When_RandomKeys()
    {
        var random = new Random(42);
        foreach (int n in new[] { 1, 2, 3, 10, 257, 1000 })
        {
            foreach (int k in new[] { 1, 2, 5, n / 2 + 1, n })
            {
                if (k > n) continue;
                var keys = new float[n];
                for (int i = 0; i < n; i++) keys[i] = random.Next(0, 50); // many ties
                var items = Enumerable.Range(0, n).ToArray();
                float[] sorted = [.. keys.OrderByDescending(x => x)];
                float[] original = [.. keys];
                Sampler.SelectLargest(keys, items, k);
                Assert.Equal(sorted.Take(k).OrderBy(x => x), keys.Take(k).OrderBy(x => x));
                for (int i = 0; i < n; i++) Assert.Equal(original[items[i]], keys[i]);
            }
        }
    }

    [Fact]
    public void Sample_AllocatesNothing_When_Warm()
    {
        var options = new SamplerOptions { Temperature = 0.8f, TopK = 50, TopP = 0.9f, MinP = 0.05f, RepetitionPenalty = 1.1f, RepeatLastN = 64 };
        var sampler = new Sampler(50_000, options);
        var logits = RandomLogits(50_000, 2);
        var topPOnly = new Sampler(50_000, new SamplerOptions { TopP = 0.5f, RepetitionPenalty = 1.3f });
        var greedy = new Sampler(50_000, SamplerOptions.Greedy with { RepetitionPenalty = 1.5f });
        for (int i = 0; i < 5; i++)
        {
            sampler.Accept(sampler.Sample(logits));
            topPOnly.Accept(topPOnly.Sample(logits));
            greedy.Accept(greedy.Sample(logits));
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++)
        {
            sampler.Accept(sampler.Sample(logits));
            topPOnly.Accept(topPOnly.Sample(logits));
            greedy.Accept(greedy.Sample(logits));
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(-0.1f, 0, 1f, 0f, 1f, 0, "Temperature")]
    [InlineData(1f, -1, 1f, 0f, 1f, 0, "TopK")]
    [InlineData(1f, 0, 0f, 0f, 1f, 0, "TopP")]
    [InlineData(1f, 0, 1.5f, 0f, 1f, 0, "TopP")]
    [InlineData(1f, 0, 1f, 2f, 1f, 0, "MinP")]
    [InlineData(1f, 0, 1f, 0f, 0f, 0, "RepetitionPenalty")]
    [InlineData(1f, 0, 1f, 0f, 1f, -3, "RepeatLastN")]
    public void Constructor_NamesOption_When_OutOfRange(float temperature, int topK, float topP, float minP, float penalty, int lastN, string name)
    {
        var options = new SamplerOptions { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP, RepetitionPenalty = penalty, RepeatLastN = lastN };
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(10, options));
        Assert.Equal(name, ex.ParamName);
    }

    [Fact]
    public void Sample_Throws_When_LogitsShorterThanVocabulary()
    {
        var sampler = new Sampler(10, new SamplerOptions());
        Assert.Throws<ArgumentException>(() => sampler.Sample(new float[9]));
    }

    private static float[] RandomLogits(int n, int seed)
    {
        var random = new Random(seed);
        var logits = new float[n];
        for (int i = 0; i < n; i++) logits[i] = (float)(random.NextDouble() * 8 - 4);
        return logits;
    }

    private static int[] Draw(Sampler sampler, float[] logits, int count)
    {
        var result = new int[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = sampler.Sample(logits);
            sampler.Accept(result[i]);
        }
        return result;
    }
}
