using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Mechanisms;

namespace EdgeRuntime.Tests.Mechanisms;

/// <summary>Lightning attention against hand-computed slopes and an independent double-precision masked-matrix reference.</summary>
public sealed class LightningAttentionTests
{
    // ALiBi slopes by hand: start = 2^(-8/n) for a power of two n, then start^(i+1).
    public static TheoryData<int, double[]> HandSlopes => new()
    {
        { 1, [1.0 / 256] },
        { 3, [1.0 / 16, 1.0 / 256, 1.0 / 4] },                       // 2's slopes, then 4's [0::2][:1]
        { 4, [1.0 / 4, 1.0 / 16, 1.0 / 64, 1.0 / 256] },
        { 5, [1.0 / 4, 1.0 / 16, 1.0 / 64, 1.0 / 256, 1.0 / 2] },    // 4's, then 8's [0::2][:1]
        { 6, [1.0 / 4, 1.0 / 16, 1.0 / 64, 1.0 / 256, 1.0 / 2, 1.0 / 8] },
        { 8, [1.0 / 2, 1.0 / 4, 1.0 / 8, 1.0 / 16, 1.0 / 32, 1.0 / 64, 1.0 / 128, 1.0 / 256] },
    };

    [Theory]
    [MemberData(nameof(HandSlopes))]
    public void BaseSlopes_EqualHandValues_When_HeadCountGiven(int heads, double[] expected)
    {
        double[] actual = LightningAttention.BaseSlopes(heads);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-15 * expected[i], $"slope {i} of {heads}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void LayerSlopes_ScaleBaseSlopes_When_LayerDeepens()
    {
        // layer i of L: base · (1 − i/(L−1) + 1e-5)
        double[] first = LightningAttention.LayerSlopes(4, 0, 4), middle = LightningAttention.LayerSlopes(4, 1, 4), last = LightningAttention.LayerSlopes(4, 3, 4);
        Assert.Equal(0.25 * (1 + 1e-5), first[0], 15);
        Assert.Equal(0.25 * (1 - 1.0 / 3 + 1e-5), middle[0], 15);
        Assert.True(Math.Abs(last[3] - 1.0 / 256 * 1e-5) <= 1e-22, $"last layer slope {last[3]}");
        // A single layer has no (L−1) to divide by: it takes the first layer's factor.
        Assert.Equal(0.25 * (1 + 1e-5), LightningAttention.LayerSlopes(4, 0, 1)[0], 15);
    }

    /// <summary>Independent reference: per head, <c>O = ((Q̃K̃ᵀ) ⊙ M) V</c> with <c>M_ts = e^{−λ(t−s)}</c> for s ≤ t, in double, and
    /// the LRPE score written as <c>Σ_i q_i k_i cos(θ_i (t−s))</c> rather than through the concatenation.</summary>
    private static double[] NaiveMasked(float[] q, float[] k, float[] v, int tokens, int heads, int d, double[] slopes, float[]? theta)
    {
        int width = heads * d;
        var o = new double[tokens * width];
        for (int h = 0; h < heads; h++)
        {
            var masked = new double[tokens, tokens];
            for (int t = 0; t < tokens; t++)
                for (int s = 0; s <= t; s++)
                {
                    double score = 0;
                    for (int i = 0; i < d; i++)
                    {
                        double qk = (double)q[t * width + h * d + i] * k[s * width + h * d + i];
                        score += theta is null ? qk : qk * Math.Cos(theta[h * d + i] * (double)(t - s));
                    }
                    masked[t, s] = score * Math.Exp(-slopes[h] * (t - s));
                }
            for (int t = 0; t < tokens; t++)
                for (int c = 0; c < d; c++)
                {
                    double sum = 0;
                    for (int s = 0; s <= t; s++) sum += masked[t, s] * v[s * width + h * d + c];
                    o[t * width + h * d + c] = sum;
                }
        }
        return o;
    }

    private static float[] RandomArray(Random rng, int n, double scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return a;
    }

    private static void AssertClose(string what, ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double tolerance)
    {
        double maxRef = 0, maxErr = 0;
        int worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
            double err = Math.Abs(expected[i] - actual[i]);
            if (err > maxErr) (maxErr, worst) = (err, i);
        }
        double ratio = maxErr / Math.Max(maxRef, 1e-30);
        Assert.True(ratio <= tolerance, $"{what}: max|Δ|/max|expected| = {ratio:E3} > {tolerance:E1} at index {worst}: expected {expected[worst]}, actual {actual[worst]}");
    }

    public static TheoryData<int, int, bool, int> Cases()
    {
        var data = new TheoryData<int, int, bool, int>();
        foreach (int tokens in new[] { 1, 7, 64, 65 })
        {
            data.Add(3, 5, true, tokens);
            data.Add(6, 7, false, tokens);
            data.Add(5, 3, true, tokens);
        }
        data.Add(8, 16, true, 200);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StepAndPrefill_MatchNaiveMaskedForm_When_RandomInputs(int heads, int headSize, bool lrpe, int tokens)
    {
        var rng = new Random(42 + tokens * 31 + heads);
        int width = heads * headSize;
        // Activated q, k are non-negative in practice (silu is mostly so); random signs also exercise cancellation.
        float[] q = RandomArray(rng, tokens * width, 1), k = RandomArray(rng, tokens * width, 1), v = RandomArray(rng, tokens * width, 1);
        float[]? theta = lrpe ? RandomArray(rng, width, 1.5) : null;
        // Middle-layer slopes, and one fast head to exercise the negligible-term cut-off.
        double[] slopes = LightningAttention.LayerSlopes(heads, 1, 3);
        slopes[0] = 80;
        var mech = new LightningAttention(heads, headSize, slopes, theta ?? [], prefillBlock: 16);
        double[] expected = NaiveMasked(q, k, v, tokens, heads, headSize, slopes, theta);

        // Steps.
        var stepState = new float[mech.StateLength];
        var stepOut = new float[tokens * width];
        var scratch = new float[mech.ScratchLength];
        for (int t = 0; t < tokens; t++)
            mech.Step(WorkerPool.Single, q.AsSpan(t * width, width), k.AsSpan(t * width, width), v.AsSpan(t * width, width), t, stepState, stepOut.AsSpan(t * width, width), scratch);
        AssertClose("Step outputs", expected, stepOut, 1e-5);

        // One Prefill call (several 16-token blocks), on a two-worker pool to exercise the parallel phases.
        using var pool = new WorkerPool(2);
        var prefillState = new float[mech.StateLength];
        var prefillOut = new float[tokens * width];
        mech.Prefill(pool, q, k, v, width, tokens, 0, prefillState, prefillOut, width, scratch);
        AssertClose("Prefill outputs", expected, prefillOut, 1e-5);
        AssertClose("Prefill state vs Step state", Array.ConvertAll(stepState, x => (double)x), prefillState, 1e-5);

        // Mixed: prefill a part, step one, prefill the rest (positions continue).
        var mixedState = new float[mech.StateLength];
        var mixedOut = new float[tokens * width];
        int a = tokens / 3;
        mech.Prefill(WorkerPool.Single, q, k, v, width, a, 0, mixedState, mixedOut, width, scratch);
        int t1 = a;
        if (t1 < tokens)
        {
            mech.Step(WorkerPool.Single, q.AsSpan(t1 * width, width), k.AsSpan(t1 * width, width), v.AsSpan(t1 * width, width), t1, mixedState, mixedOut.AsSpan(t1 * width, width), scratch);
            t1++;
        }
        int rest = tokens - t1;
        if (rest > 0)
            mech.Prefill(WorkerPool.Single, q.AsSpan(t1 * width), k.AsSpan(t1 * width), v.AsSpan(t1 * width), width, rest, t1, mixedState, mixedOut.AsSpan(t1 * width), width, scratch);
        AssertClose("Mixed outputs", expected, mixedOut, 1e-5);
        AssertClose("Mixed state vs Step state", Array.ConvertAll(stepState, x => (double)x), mixedState, 1e-5);

        // The mechanism's own naive form agrees with the independent one.
        var internalRef = new float[tokens * width];
        mech.Reference(q, k, v, tokens, 0, internalRef);
        AssertClose("internal Reference", expected, internalRef, 1e-6);
    }

    [Fact]
    public void Prefill_UsesAbsolutePositions_When_StartingLater()
    {
        // LRPE scores depend only on t − s, so a run started at position 1000 equals one started at 0 ...
        var rng = new Random(7);
        int heads = 2, d = 5, tokens = 40, width = heads * d;
        float[] q = RandomArray(rng, tokens * width, 1), k = RandomArray(rng, tokens * width, 1), v = RandomArray(rng, tokens * width, 1);
        float[] theta = RandomArray(rng, width, 2);
        var mech = new LightningAttention(heads, d, LightningAttention.LayerSlopes(heads, 0, 2), theta, 16);
        var scratch = new float[mech.ScratchLength];
        var o0 = new float[tokens * width];
        var o1000 = new float[tokens * width];
        mech.Prefill(WorkerPool.Single, q, k, v, width, tokens, 0, new float[mech.StateLength], o0, width, scratch);
        mech.Prefill(WorkerPool.Single, q, k, v, width, tokens, 1000, new float[mech.StateLength], o1000, width, scratch);
        AssertClose("shifted start", Array.ConvertAll(o0, x => (double)x), o1000, 1e-5);
        // ... but the states differ (they hold absolute phases).
        var s0 = new float[mech.StateLength];
        var s1 = new float[mech.StateLength];
        mech.Prefill(WorkerPool.Single, q, k, v, width, tokens, 0, s0, o0, width, scratch);
        mech.Prefill(WorkerPool.Single, q, k, v, width, tokens, 1000, s1, o1000, width, scratch);
        Assert.NotEqual(s0, s1);
    }

    [Fact]
    public void Constructor_Throws_When_ArgumentsDisagree()
    {
        Assert.Throws<ArgumentException>(() => new LightningAttention(4, 8, new double[3], [], 16));
        Assert.Throws<ArgumentException>(() => new LightningAttention(2, 8, new double[2], new float[15], 16));
        Assert.Throws<ArgumentException>(() => new LightningAttention(2, 8, [0.1, -1], [], 16));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LightningAttention(2, 8, new double[2], [], 0));
    }

    [Fact]
    public void StateLength_DoublesKeyRows_When_LrpeUsed()
    {
        Assert.Equal(3 * 5 * 5, new LightningAttention(3, 5, new double[3], [], 8).StateLength);
        Assert.Equal(3 * 10 * 5, new LightningAttention(3, 5, new double[3], new float[15], 8).StateLength);
    }
}
