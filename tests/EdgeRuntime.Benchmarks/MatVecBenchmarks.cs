using BenchmarkDotNet.Attributes;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Memory;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Benchmarks;

/// <summary>Decode mat-vec <c>y = W·x</c> through <see cref="Linear.Forward"/> at the published layer shapes: 1024×1024 (BASED-360M
/// and TransNormerLLM-385M attention projections), 4096×1024 (BASED-360M BaseConv in_proj / SwiGLU fc1), 1024×2048 (their
/// out_proj / fc2), 2816×1024 (TransNormerLLM-385M GLU l1/l2). <c>Cached</c> false cycles through enough copies to pass
/// 128 MiB per invocation (weights streamed from DRAM, as in decode); true reuses one matrix (L2/L3-resident: the
/// kernel's compute ceiling).</summary>
[MemoryDiagnoser]
public class MatVecBenchmarks
{
    private NativeBuffer[] _buffers = [];
    private WeightMatrix[] _matrices = [];
    private NativeBuffer _x = null!, _y = null!;
    private WorkerPool _pool = null!;
    private int _next;

    [Params(DType.F32, DType.Q8_0, DType.Q4_0)] public DType Type { get; set; }

    [Params("1024x1024", "4096x1024", "1024x2048", "2816x1024")] public string Shape { get; set; } = "";

    [Params(1, 2)] public int Threads { get; set; }

    [Params(false, true)] public bool Cached { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x');
        int rows = int.Parse(parts[0]), cols = int.Parse(parts[1]);
        long bytes = DTypeInfo.ByteCount(Type, cols) * rows;
        int copies = Cached ? 1 : (int)Math.Max(2, (128L << 20) / bytes);
        _buffers = new NativeBuffer[copies];
        _matrices = new WeightMatrix[copies];
        for (int i = 0; i < copies; i++) (_buffers[i], _matrices[i]) = BenchData.Matrix(Type, rows, cols, seed: i);
        _x = BenchData.Activations(cols, 7);
        _y = new NativeBuffer(rows);
        _pool = new WorkerPool(Threads);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in _buffers) b.Dispose();
        _x.Dispose();
        _y.Dispose();
        _pool.Dispose();
    }

    /// <summary>One mat-vec (on the next copy).</summary>
    [Benchmark]
    public void Forward()
    {
        var w = _matrices[_next];
        _next = (_next + 1) % _matrices.Length;
        Linear.Forward(_pool, w, default, _x.Span, _y.Span);
    }
}
