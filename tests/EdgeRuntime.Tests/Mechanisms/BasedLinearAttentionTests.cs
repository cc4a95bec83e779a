using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Mechanisms;
using EdgeRuntime.Tests.Families;

namespace EdgeRuntime.Tests.Mechanisms;

/// <summary>The Taylor linear attention alone: its feature map, Step against chunked Prefill (outputs and state), and the quadratic form.</summary>
public sealed class BasedLinearAttentionTests
{
    private const int Hidden = 10, Heads = 3, Feature = 5, HeadSize = 3;  // odd everything

    private static (BasedLinearAttention Attention, Dictionary<string, float[]> Weights, string Dir, IDisposable Source) Create(int seed)
    {
        var rng = new Random(seed);
        var weights = new Dictionary<string, float[]>
        {
            ["m.proj_q.weight"] = Random(rng, Heads * Feature * Hidden, 0.5),
            ["m.proj_k.weight"] = Random(rng, Heads * Feature * Hidden, 0.5),
            ["m.proj_v.weight"] = Random(rng, Heads * HeadSize * Hidden, 0.5),
            ["m.out_proj.weight"] = Random(rng, Hidden * Heads * HeadSize, 0.3),
        };
        string dir = Path.Combine(Path.GetTempPath(), "based-la-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var writer = new SafetensorsWriter();
        writer.Add("m.proj_q.weight", weights["m.proj_q.weight"], Heads * Feature, Hidden);
        writer.Add("m.proj_k.weight", weights["m.proj_k.weight"], Heads * Feature, Hidden);
        writer.Add("m.proj_v.weight", weights["m.proj_v.weight"], Heads * HeadSize, Hidden);
        writer.Add("m.out_proj.weight", weights["m.out_proj.weight"], Hidden, Heads * HeadSize);
        writer.Save(Path.Combine(dir, "model.safetensors"));
        var source = new SafetensorsWeightSource(dir);
        return (BasedLinearAttention.Load(source, "m", Hidden, Heads, Feature, HeadSize, 1e-12), weights, dir, source);
    }

    private static float[] Random(Random rng, int n, double scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return a;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void FeatureMap_InnerProductIsTaylorKernel_When_AnyVectors(int seed)
    {
        var (attention, _, dir, source) = Create(seed);
        using var weightsSource = source;
        try
        {
            var rng = new Random(seed);
            Assert.Equal(1 + Feature + Feature * (Feature + 1) / 2, attention.ExpandedSize);
            var phiQ = new float[attention.ExpandedSize];
            var phiK = new float[attention.ExpandedSize];
            for (int trial = 0; trial < 20; trial++)
            {
                var q = Random(rng, Feature, 2.0);
                var k = Random(rng, Feature, 2.0);
                attention.FeatureMap(q, phiQ);
                attention.FeatureMap(k, phiK);
                double dot = 0, s = 0;
                for (int i = 0; i < phiQ.Length; i++) dot += (double)phiQ[i] * phiK[i];
                for (int i = 0; i < Feature; i++) s += (double)q[i] * k[i];
                s /= Math.Sqrt(Feature);
                double expected = 1 + s + s * s / 2;
                Assert.True(Math.Abs(dot - expected) <= 1e-5 * Math.Max(1, Math.Abs(expected)), $"trial {trial}: φ(q)·φ(k) = {dot}, expected {expected}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(65)]
    public void StepEqualsPrefill_And_MatchesQuadraticForm_When_Tokens(int tokens)
    {
        var (attention, weights, dir, source) = Create(tokens);
        using var weightsSource = source;
        using var pool = new WorkerPool(3);
        try
        {
            var x = Random(new Random(100 + tokens), tokens * Hidden, 1.0);
            const int chunk = 16;

            // T calls to Step.
            var stepState = new float[attention.StateLength];
            var stepY = new float[tokens * Hidden];
            var scratch1 = new float[attention.ScratchLength(1)];
            for (int t = 0; t < tokens; t++)
                attention.Step(WorkerPool.Single, x.AsSpan(t * Hidden, Hidden), stepState, stepY.AsSpan(t * Hidden, Hidden), scratch1);

            // Prefill in chunks of 16, heads split over 3 workers.
            var preState = new float[attention.StateLength];
            var preY = new float[tokens * Hidden];
            var scratch = new float[attention.ScratchLength(chunk, pool.WorkerCount)];
            for (int start = 0; start < tokens; start += chunk)
            {
                int n = Math.Min(chunk, tokens - start);
                attention.Prefill(pool, x.AsSpan(start * Hidden, n * Hidden), n, preState, preY.AsSpan(start * Hidden, n * Hidden), scratch);
            }
            BasedTestSupport.AssertClose(stepY, preY, 1e-5, $"T={tokens} prefill vs step outputs", Hidden);
            BasedTestSupport.AssertClose(stepState, preState, 1e-5, $"T={tokens} prefill vs step state", attention.ExpandedSize * HeadSize + attention.ExpandedSize);

            // The quadratic form, in double, per head.
            double[] Project(string name, int rows)
            {
                var w = weights[name];
                var y = new double[tokens * rows];
                for (int t = 0; t < tokens; t++)
                    for (int r = 0; r < rows; r++)
                    {
                        double sum = 0;
                        for (int c = 0; c < Hidden; c++) sum += (double)w[r * Hidden + c] * x[t * Hidden + c];
                        y[t * rows + r] = sum;
                    }
                return y;
            }
            var q = Project("m.proj_q.weight", Heads * Feature);
            var k = Project("m.proj_k.weight", Heads * Feature);
            var v = Project("m.proj_v.weight", Heads * HeadSize);
            var ctx = new double[tokens * Heads * HeadSize];
            for (int h = 0; h < Heads; h++)
            {
                double[] Head(double[] a, int width, int size)
                {
                    var r = new double[tokens * size];
                    for (int t = 0; t < tokens; t++) Array.Copy(a, t * width + h * size, r, t * size, size);
                    return r;
                }
                var yh = new double[tokens * HeadSize];
                BasedLinearAttention.ReferenceQuadratic(Head(q, Heads * Feature, Feature), Head(k, Heads * Feature, Feature),
                    Head(v, Heads * HeadSize, HeadSize), tokens, 1e-12, yh);
                for (int t = 0; t < tokens; t++) Array.Copy(yh, t * HeadSize, ctx, t * Heads * HeadSize + h * HeadSize, HeadSize);
            }
            var wo = weights["m.out_proj.weight"];
            var expected = new double[tokens * Hidden];
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < Hidden; r++)
                    for (int c = 0; c < Heads * HeadSize; c++) expected[t * Hidden + r] += wo[r * Heads * HeadSize + c] * ctx[t * Heads * HeadSize + c];
            BasedTestSupport.AssertClose(expected, preY, 1e-5, $"T={tokens} prefill vs quadratic form", Hidden);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
