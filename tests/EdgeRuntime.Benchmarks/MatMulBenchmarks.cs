using BenchmarkDotNet.Attributes;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Memory;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Benchmarks;

/// <summary>Prefill mat-mat <c>Y = X·Wᵀ</c> for a 256-token chunk (the models' default prefill block) through
/// <see cref="Linear.Forward"/> at published shapes. GFLOP/s = 2·rows·cols·256 / time.</summary>
[MemoryDiagnoser]
public class MatMulBenchmarks
{
    private const int Tokens = 256;
    private NativeBuffer _w = null!, _x = null!, _y = null!;
    private WeightMatrix _matrix = null!;
    private WorkerPool _pool = null!;

    [Params(DType.F32, DType.Q8_0, DType.Q4_0)] public DType Type { get; set; }

    [Params("1024x1024", "4096x1024", "1024x2048")] public string Shape { get; set; } = "";

    [Params(1, 2)] public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x');
        int rows = int.Parse(parts[0]), cols = int.Parse(parts[1]);
        (_w, _matrix) = BenchData.Matrix(Type, rows, cols, seed: 1);
        _x = BenchData.Activations((long)Tokens * cols, 7);
        _y = new NativeBuffer((long)Tokens * rows);
        _pool = new WorkerPool(Threads);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _w.Dispose();
        _x.Dispose();
        _y.Dispose();
        _pool.Dispose();
    }

    [Benchmark]
    public void Forward() => Linear.Forward(_pool, _matrix, default, _x.Span, _y.Span, Tokens);
}
