using BenchmarkDotNet.Attributes;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Mechanisms;

namespace EdgeRuntime.Benchmarks;

/// <summary>One decode <c>Step</c> of each mechanism at its published size (f32 weights, projections included where the
/// mechanism owns them): BASED-360M Taylor linear attention (d 1024, 16 heads, feature 16) and sliding window (d 1024,
/// 16 heads, window 256, ring full), BaseConv (d 1024, expand 4, 3 taps), TransNormerLLM-385M Lightning attention
/// (8 heads of 128, no projections) and the aaren-small Aaren attention (8 heads of 32, no projections).</summary>
[MemoryDiagnoser]
public class MechanismBenchmarks
{
    private const int D = 1024;
    private string _dir = "";
    private SafetensorsWeightSource _weights = null!;
    private WorkerPool _pool = null!;
    private BasedLinearAttention _linear = null!;
    private SlidingWindowAttention _sliding = null!;
    private ShortConv _conv = null!;
    private LightningAttention _lightning = null!;
    private AarenAttention _aaren = null!;
    private float[] _x = [], _y = [], _linearState = [], _slidingState = [], _convState = [], _lightningState = [], _aarenState = [];
    private float[] _linearScratch = [], _slidingScratch = [], _convScratch = [], _lightningScratch = [], _lightningOut = [];
    private float[] _q = [], _k = [], _v = [];
    private long _position;

    [Params(1, 2)] public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "edgert-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
        var rng = new Random(3);
        float[] W(int n) { var a = new float[n]; BenchData.Gaussian(rng, a, 0.02f); return a; }
        new SafetensorsWriter()
            .Add("lin.proj_q.weight", W(256 * D), 256, D).Add("lin.proj_k.weight", W(256 * D), 256, D)
            .Add("lin.proj_v.weight", W(D * D), D, D).Add("lin.out_proj.weight", W(D * D), D, D)
            .Add("swa.Wqkv.weight", W(3 * D * D), 3 * D, D).Add("swa.out_proj.weight", W(D * D), D, D)
            .Add("conv.in_proj.weight", W(4 * D * D), 4 * D, D).Add("conv.in_proj.bias", new float[4 * D], 4 * D)
            .Add("conv.conv.conv.weight", W(2 * D * 3), 2 * D, 1, 3)
            .Add("conv.out_proj.weight", W(2 * D * D), D, 2 * D).Add("conv.out_proj.bias", new float[D], D)
            .Save(Path.Combine(_dir, "model.safetensors"));
        _weights = new SafetensorsWeightSource(_dir);
        _pool = new WorkerPool(Threads);
        _linear = BasedLinearAttention.Load(_weights, "lin", D, 16, 16, 64, 1e-6);
        _sliding = SlidingWindowAttention.Load(_weights, "swa", D, 16, 16, 256, 64, 10000, false, 0.125, false, false);
        _conv = ShortConv.Load(_weights, "conv", D, 4, 3, true);
        _lightning = new LightningAttention(8, 128, LightningAttention.LayerSlopes(8, 1, 24), [], 256);
        _aaren = new AarenAttention(W(256), 8, 32);
        _x = W(D);
        _y = new float[D];
        _linearState = new float[_linear.StateLength];
        _linearScratch = new float[_linear.ScratchLength(1, Threads)];
        _slidingState = new float[_sliding.StateLength];
        _slidingScratch = new float[_sliding.ScratchLength(1, Threads)];
        _convState = new float[_conv.StateLength];
        _convScratch = new float[_conv.ScratchLength(1)];
        _lightningState = new float[_lightning.StateLength];
        _lightningScratch = new float[_lightning.ScratchLength];
        _lightningOut = new float[D];
        _aarenState = new float[_aaren.StateLength];
        for (int h = 0; h < 8; h++) _aarenState[h * _aaren.HeadStateLength] = float.NegativeInfinity;
        (_q, _k, _v) = (W(D), W(D), W(D));
        // Fill the sliding window's ring so every step attends over all w/2 + 1 positions.
        for (_position = 0; _position < 200; _position++) _sliding.Step(_pool, _x, _position, _slidingState, _y, _slidingScratch);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _weights.Dispose();
        _pool.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark] public void BasedLinearAttentionStep() => _linear.Step(_pool, _x, _linearState, _y, _linearScratch);

    [Benchmark] public void SlidingWindowAttentionStep() => _sliding.Step(_pool, _x, _position++, _slidingState, _y, _slidingScratch);

    [Benchmark] public void ShortConvStep() => _conv.Step(_pool, _x, _convState, _y, _convScratch);

    [Benchmark] public void LightningAttentionStep() => _lightning.Step(_pool, _q, _k, _v, 100, _lightningState, _lightningOut, _lightningScratch);

    [Benchmark] public void AarenAttentionStep() => _aaren.Step(_k.AsSpan(0, 256), _v.AsSpan(0, 256), _aarenState, _y.AsSpan(0, 256));
}
