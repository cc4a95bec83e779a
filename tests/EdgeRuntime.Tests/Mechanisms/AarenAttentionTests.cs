using EdgeRuntime.Models.Mechanisms;

namespace EdgeRuntime.Tests.Mechanisms;

/// <summary>Aaren attention: recurrence and chunked scan against an independent exact masked prefix softmax in double.</summary>
public sealed class AarenAttentionTests
{
    public static TheoryData<int, int, int, float> Shapes()
    {
        var data = new TheoryData<int, int, int, float>();
        foreach (int tokens in new[] { 1, 7, 64, 65 })
        {
            data.Add(tokens, 3, 5, 1f);     // odd head size, ordinary scores
            data.Add(tokens, 2, 7, 60f);    // scores in the hundreds
            data.Add(tokens, 1, 9, 400f);   // scores in the thousands
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Prefill_MatchesNaiveMaskedSoftmax_When_ChunkedBy16(int tokens, int heads, int headSize, float queryScale)
    {
        var (attn, k, v) = Random(heads, headSize, tokens, queryScale, seed: 42 + tokens);
        var expected = Naive(attn, Query(heads, headSize, queryScale, 42 + tokens), k, v, tokens);
        var state = new float[attn.StateLength];
        attn.InitState(state);
        var output = new float[tokens * attn.Width];
        attn.Prefill(k, v, tokens, state, output, new float[AarenAttention.PrefillScratchLength(16)]);
        AssertClose("prefill output", expected, output, 1e-4);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Step_MatchesNaiveMaskedSoftmax_When_Streamed(int tokens, int heads, int headSize, float queryScale)
    {
        var (attn, k, v) = Random(heads, headSize, tokens, queryScale, seed: 7 + tokens);
        var expected = Naive(attn, Query(heads, headSize, queryScale, 7 + tokens), k, v, tokens);
        var state = new float[attn.StateLength];
        attn.InitState(state);
        var output = new float[tokens * attn.Width];
        int w = attn.Width;
        for (int t = 0; t < tokens; t++)
            attn.Step(k.AsSpan(t * w, w), v.AsSpan(t * w, w), state, output.AsSpan(t * w, w));
        AssertClose("step output", expected, output, 1e-4);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void StepAndPrefill_AgreeInOutputsAndState_When_SplitAnywhere(int tokens, int heads, int headSize, float queryScale)
    {
        var (attn, k, v) = Random(heads, headSize, tokens, queryScale, seed: 1000 + tokens);
        int w = attn.Width;
        var stepState = new float[attn.StateLength];
        attn.InitState(stepState);
        var stepOut = new float[tokens * w];
        for (int t = 0; t < tokens; t++) attn.Step(k.AsSpan(t * w, w), v.AsSpan(t * w, w), stepState, stepOut.AsSpan(t * w, w));

        // One prefill, and a mix: prefill 1, a step, prefill 13 (crosses a chunk of 5), steps, prefill the rest.
        foreach (int[] splits in new[] { new[] { tokens }, new[] { 1, -1, 13, -1, -1, int.MaxValue } })
        {
            var state = new float[attn.StateLength];
            attn.InitState(state);
            var output = new float[tokens * w];
            var scratch = new float[AarenAttention.PrefillScratchLength(5)];
            int t = 0;
            foreach (int split in splits)
            {
                if (t >= tokens) break;
                if (split < 0)
                {
                    attn.Step(k.AsSpan(t * w, w), v.AsSpan(t * w, w), state, output.AsSpan(t * w, w));
                    t++;
                    continue;
                }
                int n = Math.Min(split, tokens - t);
                attn.Prefill(k.AsSpan(t * w), v.AsSpan(t * w), n, state, output.AsSpan(t * w, n * w), scratch);
                t += n;
            }
            string name = $"splits [{string.Join(", ", splits)}]";
            AssertClose(name + " output", stepOut, output, 1e-5);
            AssertStateClose(name, attn, stepState, state);
        }
    }

    [Fact]
    public void InitState_SetsMaxToNegativeInfinity_When_Called()
    {
        var attn = new AarenAttention(new float[3 * 5], 3, 5);
        Assert.Equal(3 * 7, attn.StateLength);
        var state = new float[attn.StateLength];
        state.AsSpan().Fill(123f);
        attn.InitState(state);
        for (int i = 0; i < state.Length; i++)
        {
            float expected = i % 7 == AarenAttention.MaxOffset ? float.NegativeInfinity : 0f;
            Assert.True(expected.Equals(state[i]), $"state[{i}]: expected {expected}, got {state[i]}");
        }
    }

    [Fact]
    public void Step_ReturnsValueExactly_When_FirstStepFromEmptyState()
    {
        var (attn, k, v) = Random(2, 3, 1, 500f, seed: 3);
        var state = new float[attn.StateLength];
        attn.InitState(state);
        var o = new float[attn.Width];
        attn.Step(k, v, state, o);
        Assert.Equal(v, o);
        for (int h = 0; h < 2; h++) Assert.Equal(1f, state[h * 5 + AarenAttention.DenominatorOffset]);
    }

    [Fact]
    public void Prefill_LeavesStateUnchanged_When_ZeroTokens()
    {
        var attn = new AarenAttention(new float[4], 1, 4);
        var state = new float[attn.StateLength];
        attn.InitState(state);
        var before = (float[])state.Clone();
        attn.Prefill([], [], 0, state, [], new float[2]);
        Assert.Equal(before, state);
    }

    [Fact]
    public void StepAndPrefill_StayFinite_When_ScoresAreHuge()
    {
        // Scores around ±1e4..1e5: any exp of a raw score overflows; only the max-subtracted form survives.
        var (attn, k, v) = Random(2, 5, 65, 5000f, seed: 11);
        int w = attn.Width;
        var s1 = new float[attn.StateLength];
        var s2 = new float[attn.StateLength];
        attn.InitState(s1);
        attn.InitState(s2);
        var o1 = new float[65 * w];
        var o2 = new float[65 * w];
        for (int t = 0; t < 65; t++) attn.Step(k.AsSpan(t * w, w), v.AsSpan(t * w, w), s1, o1.AsSpan(t * w, w));
        attn.Prefill(k, v, 65, s2, o2, new float[AarenAttention.PrefillScratchLength(16)]);
        foreach (var (name, a) in new[] { ("step out", o1), ("prefill out", o2), ("step state", s1), ("prefill state", s2) })
            for (int i = 0; i < a.Length; i++) Assert.True(float.IsFinite(a[i]), $"{name}[{i}] = {a[i]}");
        var expected = Naive(attn, Query(2, 5, 5000f, 11), k, v, 65);
        AssertClose("huge-score prefill", expected, o2, 1e-3);
    }

    [Fact]
    public void Reference_MatchesNaiveMaskedSoftmax_When_Random()
    {
        var (attn, k, v) = Random(3, 5, 20, 60f, seed: 5);
        var output = new float[20 * attn.Width];
        attn.Reference(k, v, 20, output);
        AssertClose("internal reference", Naive(attn, Query(3, 5, 60f, 5), k, v, 20), output, 1e-6);
    }

    [Fact]
    public void Step_Throws_When_LengthsMismatch()
    {
        var attn = new AarenAttention(new float[6], 2, 3);
        var state = new float[attn.StateLength];
        Assert.Throws<ArgumentException>(() => attn.Step(new float[5], new float[6], state, new float[6]));
        Assert.Throws<ArgumentException>(() => attn.Step(new float[6], new float[6], new float[3], new float[6]));
        Assert.Throws<ArgumentException>(() => attn.Prefill(new float[6], new float[6], 2, state, new float[12], new float[2]));
        Assert.Throws<ArgumentException>(() => new AarenAttention(new float[5], 2, 3));
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    internal static float[] Query(int heads, int headSize, float scale, int seed)
    {
        var rng = new Random(seed);
        var q = new float[heads * headSize];
        for (int i = 0; i < q.Length; i++) q[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return q;
    }

    private static (AarenAttention Attn, float[] K, float[] V) Random(int heads, int headSize, int tokens, float queryScale, int seed)
    {
        var q = Query(heads, headSize, queryScale, seed);
        var rng = new Random(seed * 31 + 1);
        var k = new float[tokens * heads * headSize];
        var v = new float[tokens * heads * headSize];
        for (int i = 0; i < k.Length; i++) k[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return (new AarenAttention(q, heads, headSize), k, v);
    }

    /// <summary>Exact masked prefix softmax in double: o_t = Σ_{i≤t} e^{s_i − max} v_i / Σ_{i≤t} e^{s_i − max}.</summary>
    internal static double[] Naive(AarenAttention attn, float[] query, float[] k, float[] v, int tokens)
    {
        int heads = attn.HeadCount, d = attn.HeadSize, w = heads * d;
        var o = new double[tokens * w];
        for (int h = 0; h < heads; h++)
        {
            var s = new double[tokens];
            for (int t = 0; t < tokens; t++)
                for (int i = 0; i < d; i++) s[t] += (double)query[h * d + i] * k[t * w + h * d + i];
            for (int t = 0; t < tokens; t++)
            {
                double max = s.Take(t + 1).Max(), den = 0;
                for (int i = 0; i <= t; i++) den += Math.Exp(s[i] - max);
                for (int i = 0; i <= t; i++)
                {
                    double p = Math.Exp(s[i] - max) / den;
                    for (int j = 0; j < d; j++) o[t * w + h * d + j] += p * v[i * w + h * d + j];
                }
            }
        }
        return o;
    }

    internal static void AssertClose(string what, ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxErr = 0, maxRef = 0;
        int worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(float.IsFinite(actual[i]), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
            double e = Math.Abs(expected[i] - actual[i]);
            if (e > maxErr) { maxErr = e; worst = i; }
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        if (expected.Length == 0) return;
        double rel = maxErr / Math.Max(maxRef, 1e-30);
        Assert.True(rel <= tolerance,
            $"{what}: max|Δ|/max|expected| = {rel:E3} > {tolerance:E0} at [{worst}]: expected {expected[worst]}, got {actual[worst]}");
    }

    internal static void AssertClose(string what, float[] expected, float[] actual, double tolerance) =>
        AssertClose(what, Array.ConvertAll(expected, x => (double)x), actual, tolerance);

    // m compared absolutely-relative to max|m|, c and a relative to their own maxima (they share m's scale).
    private static void AssertStateClose(string what, AarenAttention attn, float[] expected, float[] actual)
    {
        int hs = attn.HeadStateLength;
        for (int h = 0; h < attn.HeadCount; h++)
        {
            int o = h * hs;
            AssertClose($"{what} head {h} m", new[] { expected[o] }, new[] { actual[o] }, 1e-6);
            AssertClose($"{what} head {h} c", new[] { expected[o + 1] }, new[] { actual[o + 1] }, 1e-5);
            AssertClose($"{what} head {h} a", expected[(o + 2)..(o + hs)], actual[(o + 2)..(o + hs)], 1e-5);
        }
    }
}
