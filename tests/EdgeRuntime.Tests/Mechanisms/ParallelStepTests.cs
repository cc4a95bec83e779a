using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Mechanisms;

namespace EdgeRuntime.Tests.Mechanisms;

/// <summary>Decode steps that split heads across the pool give exactly the single-threaded result (each head's arithmetic
/// is the same whichever worker runs it), for the Taylor linear attention and the sliding window with a full ring.</summary>
public sealed class ParallelStepTests : IDisposable
{
    private const int Hidden = 96, Heads = 6, Feature = 4, Window = 200;  // 6 heads over 4 workers: uneven split
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "edgert-par-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly SafetensorsWeightSource _source;

    public ParallelStepTests()
    {
        var rng = new Random(11);
        float[] R(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
        Directory.CreateDirectory(_dir);
        new SafetensorsWriter()
            .Add("la.proj_q.weight", R(Heads * Feature * Hidden, 0.3), Heads * Feature, Hidden)
            .Add("la.proj_k.weight", R(Heads * Feature * Hidden, 0.3), Heads * Feature, Hidden)
            .Add("la.proj_v.weight", R(Hidden * Hidden, 0.2), Hidden, Hidden)
            .Add("la.out_proj.weight", R(Hidden * Hidden, 0.2), Hidden, Hidden)
            .Add("sw.Wqkv.weight", R(3 * Hidden * Hidden, 0.2), 3 * Hidden, Hidden)
            .Add("sw.out_proj.weight", R(Hidden * Hidden, 0.2), Hidden, Hidden)
            .Save(Path.Combine(_dir, "model.safetensors"));
        _source = new SafetensorsWeightSource(_dir);
    }

    public void Dispose()
    {
        _source.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static float[] Input(int t) => Enumerable.Range(0, Hidden).Select(i => (float)Math.Sin(0.37 * i + 1.3 * t)).ToArray();

    [Fact]
    public void LinearAttentionStep_OnFourWorkers_EqualsOneWorker_Exactly()
    {
        var attention = BasedLinearAttention.Load(_source, "la", Hidden, Heads, Feature, Hidden / Heads, 1e-6);
        using var pool = new WorkerPool(4);
        float[] s1 = new float[attention.StateLength], s4 = new float[attention.StateLength];
        float[] y1 = new float[Hidden], y4 = new float[Hidden];
        var scratch1 = new float[attention.ScratchLength(1)];
        var scratch4 = new float[attention.ScratchLength(1, pool.WorkerCount)];
        for (int t = 0; t < 40; t++)
        {
            var x = Input(t);
            attention.Step(WorkerPool.Single, x, s1, y1, scratch1);
            attention.Step(pool, x, s4, y4, scratch4);
            Assert.Equal(y1, y4);
        }
        Assert.Equal(s1, s4);
    }

    [Fact]
    public void SlidingWindowStep_OnFourWorkers_EqualsOneWorker_Exactly_ThroughAFullRing()
    {
        var attention = SlidingWindowAttention.Load(_source, "sw", Hidden, Heads, Heads, Window, Hidden / Heads, 10000, false, 0.25, false, false);
        using var pool = new WorkerPool(4);
        float[] s1 = new float[attention.StateLength], s4 = new float[attention.StateLength];
        float[] y1 = new float[Hidden], y4 = new float[Hidden];
        var scratch1 = new float[attention.ScratchLength(1)];
        var scratch4 = new float[attention.ScratchLength(1, pool.WorkerCount)];
        // 101 ring slots × 6 heads passes the parallel threshold after 86 positions; run past a full wrap of the ring.
        for (int t = 0; t < 260; t++)
        {
            var x = Input(t);
            attention.Step(WorkerPool.Single, x, t, s1, y1, scratch1);
            attention.Step(pool, x, t, s4, y4, scratch4);
            Assert.Equal(y1, y4);
        }
        Assert.Equal(s1, s4);
    }
}
