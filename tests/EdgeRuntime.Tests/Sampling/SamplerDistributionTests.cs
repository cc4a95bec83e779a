using EdgeRuntime.Models.Sampling;

namespace EdgeRuntime.Tests.Sampling;

/// <summary>
/// Chi-square goodness of fit of sampled ids against distributions computed here, in double, from the Hugging Face
/// definitions (temperature, then top-k, top-p, min-p, each renormalised). Seeds are fixed, so the test is deterministic;
/// the threshold is the 0.999 quantile of chi-square, so a correct sampler fails with probability 1e-3 per seed set.
/// </summary>
public class SamplerDistributionTests
{
    private const int Vocab = 8;
    private const int Draws = 20_000;

    // Logits for 8 real ids plus 2 padded columns the sampler must never pick.
    private static readonly float[] s_logits = [2.0f, 1.2f, 0.9f, 0.3f, 0.0f, -0.4f, -1.0f, -2.5f, 50f, 50f];

    // chi2.ppf(0.999, df) for df = 1..7.
    private static readonly double[] s_critical = [10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322];

    public static TheoryData<float, int, float, float> Settings() => new()
    {
        { 0.7f, 0, 1f, 0f },   // temperature only
        { 1.0f, 3, 1f, 0f },   // top-k
        { 1.0f, 0, 0.8f, 0f }, // top-p keeping 4 (mass before the 4th is 0.79)
        { 1.0f, 0, 0.5f, 0f }, // top-p keeping 2: the token that crosses p stays
        { 1.0f, 0, 1f, 0.2f }, // min-p keeping 3
        { 1.3f, 6, 0.9f, 0.05f }, // all together
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Sample_FitsExpectedDistribution_When_OneDrawPerSeed(float temperature, int topK, float topP, float minP)
    {
        var options = new SamplerOptions { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP };
        var counts = new int[Vocab];
        for (int seed = 0; seed < Draws; seed++)
            counts[new Sampler(Vocab, options with { Seed = (ulong)seed }).Sample(s_logits)]++;
        AssertFits(Expected(temperature, topK, topP, minP), counts);
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void Sample_FitsExpectedDistribution_When_ManyDrawsFromOneSeed(float temperature, int topK, float topP, float minP)
    {
        var sampler = new Sampler(Vocab, new SamplerOptions { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP, Seed = 99 });
        var counts = new int[Vocab];
        for (int i = 0; i < Draws; i++) counts[sampler.Sample(s_logits)]++;
        AssertFits(Expected(temperature, topK, topP, minP), counts);
    }

    /// <summary>The target distribution, step by step in double.</summary>
    private static double[] Expected(double temperature, int topK, double topP, double minP)
    {
        var p = new double[Vocab];
        double max = double.NegativeInfinity;
        for (int i = 0; i < Vocab; i++) max = Math.Max(max, s_logits[i] / temperature);
        for (int i = 0; i < Vocab; i++) p[i] = Math.Exp(s_logits[i] / temperature - max);
        Normalise(p);

        int[] order = [.. Enumerable.Range(0, Vocab).OrderByDescending(i => p[i])];
        if (topK > 0)
        {
            for (int r = topK; r < Vocab; r++) p[order[r]] = 0;
            Normalise(p);
        }
        if (topP < 1)
        {
            // Keep tokens, most likely first, while the probability before them is below top-p.
            double before = 0;
            foreach (int i in order)
            {
                if (before >= topP) p[i] = 0;
                before += p[i];
            }
            Normalise(p);
        }
        if (minP > 0)
        {
            double threshold = minP * p.Max();
            for (int i = 0; i < Vocab; i++) if (p[i] < threshold) p[i] = 0;
            Normalise(p);
        }
        return p;
    }

    private static void Normalise(double[] p)
    {
        double sum = p.Sum();
        for (int i = 0; i < p.Length; i++) p[i] /= sum;
    }

    private static void AssertFits(double[] expected, int[] counts)
    {
        double chi2 = 0;
        int categories = 0;
        for (int i = 0; i < Vocab; i++)
        {
            if (expected[i] == 0)
            {
                Assert.True(counts[i] == 0, $"id {i} has probability 0 but was drawn {counts[i]} times");
                continue;
            }
            double e = expected[i] * Draws;
            chi2 += (counts[i] - e) * (counts[i] - e) / e;
            categories++;
        }
        double critical = s_critical[categories - 2];
        string table = string.Join(", ", Enumerable.Range(0, Vocab).Select(i => $"{i}: {counts[i]} vs {expected[i] * Draws:F1}"));
        Assert.True(chi2 < critical, $"chi2 {chi2:F2} >= {critical} (df {categories - 1}); observed vs expected {table}");
    }
}
