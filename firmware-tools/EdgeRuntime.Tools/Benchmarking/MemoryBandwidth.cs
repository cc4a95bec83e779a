using System.Diagnostics;
using System.Runtime.Intrinsics;
using EdgeRuntime.Core.Memory;
using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Tools.Benchmarking;

/// <summary>The machine's read bandwidth as the model's own workers see it: a vectorised sum over a buffer far larger than
/// the caches, split into one contiguous range per worker of the given pool, each worker reading its range as four
/// sequential streams at once (the access pattern of the mat-vec kernels).</summary>
/// <remarks>
/// Four streams, because one stream per core leaves bandwidth unused (on the 2-core EPYC of docs/benchmarks.md: 19 GB/s
/// per core with one stream, 23 with four; 31 vs 43 GB/s on two cores), and a roofline must use the most the machine
/// gives. Bytes read once per pass; the best of several passes is reported (STREAM's convention), so a ratio against it
/// is conservative; <c>edgefw bench</c> interleaves the passes with its timed decode repetitions, so that both sample the
/// same moments of a shared machine. Not thread-safe: one measurement at a time.
/// </remarks>
public sealed unsafe class MemoryBandwidth : IParallelJob, IDisposable
{
    private readonly NativeBuffer _buffer;
    private readonly WorkerPool _pool;
    private readonly float* _data;
    private readonly long _length;
    private readonly float[] _sums;

    private MemoryBandwidth(WorkerPool pool, long bytes)
    {
        _pool = pool;
        _length = bytes / sizeof(float) / 64 * 64;
        _buffer = new NativeBuffer(_length);
        _data = _buffer.Pointer;
        // Touch every page (and make the sum non-trivial) before timing.
        for (long i = 0; i < _length; i += 1 << 20)
            new Span<float>(_data + i, (int)Math.Min(1 << 20, _length - i)).Fill(1f);
        int workers = pool.WorkerCount;
        _sums = new float[workers * 16];  // one cache line per worker
        long blocks = _length / 64;
        for (int w = 0; w < workers; w++)
        {
            long b = blocks / workers + (w < blocks % workers ? 1 : 0);
            BytesPerPass += b / 4 * 64 * 4 * sizeof(float);
        }
        pool.Run(this);  // warm-up pass
    }

    /// <summary>Bytes one pass reads: every worker's four streams (a few trailing blocks of each range are skipped).</summary>
    public long BytesPerPass { get; }

    /// <summary>Allocates and touches the buffer (1 GiB by default, 30× a 32 MiB L3) and runs one untimed pass.</summary>
    /// <param name="pool">The workers (the same pool, hence thread count, as the model under test).</param>
    /// <param name="bytes">Buffer size.</param>
    public static MemoryBandwidth Create(WorkerPool pool, long bytes = 1L << 30)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return new MemoryBandwidth(pool, bytes);
    }

    /// <summary>One timed pass over the whole buffer; bytes per second.</summary>
    public double Pass()
    {
        long start = Stopwatch.GetTimestamp();
        _pool.Run(this);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (float.IsNaN(_sums[0])) throw new InvalidOperationException("membw: NaN sum");  // keeps the sums observable
        return BytesPerPass / seconds;
    }

    /// <summary>Measures read bandwidth in bytes per second: the best and the mean of <paramref name="passes"/> passes.</summary>
    public static (double Best, double Mean) Measure(WorkerPool pool, long bytes = 1L << 30, int passes = 5)
    {
        using var probe = Create(pool, bytes);
        double best = 0, total = 0;
        for (int p = 0; p < passes; p++)
        {
            double rate = probe.Pass();
            best = Math.Max(best, rate);
            total += rate;
        }
        return (best, total / passes);
    }

    /// <inheritdoc />
    public void Dispose() => _buffer.Dispose();

    /// <inheritdoc />
    public void Execute(int workerIndex, int workerCount)
    {
        long blocks = _length / 64;
        long chunk = blocks / workerCount, rest = blocks % workerCount;
        long b0 = workerIndex * chunk + Math.Min(workerIndex, rest);
        long b1 = b0 + chunk + (workerIndex < rest ? 1 : 0);
        long quarter = (b1 - b0) / 4 * 64;   // floats per stream, a multiple of 64
        float* p = _data + b0 * 64;
        _sums[workerIndex * 16] = Vector256.IsHardwareAccelerated ? Sum256(p, quarter) : Sum128(p, quarter);
    }

    /// <summary>Sums four streams of <paramref name="length"/> floats starting at <c>p</c>, <c>p + length</c>, ...</summary>
    private static float Sum256(float* p, long length)
    {
        float* p1 = p + length, p2 = p1 + length, p3 = p2 + length;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
        for (long i = 0; i < length; i += 16)
        {
            a0 += Vector256.Load(p + i); a1 += Vector256.Load(p + i + 8);
            a2 += Vector256.Load(p1 + i); a3 += Vector256.Load(p1 + i + 8);
            a4 += Vector256.Load(p2 + i); a5 += Vector256.Load(p2 + i + 8);
            a6 += Vector256.Load(p3 + i); a7 += Vector256.Load(p3 + i + 8);
        }
        return Vector256.Sum((a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7));
    }

    private static float Sum128(float* p, long length)
    {
        float* p1 = p + length, p2 = p1 + length, p3 = p2 + length;
        Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (long i = 0; i < length; i += 4)
        {
            a0 += Vector128.Load(p + i); a1 += Vector128.Load(p1 + i);
            a2 += Vector128.Load(p2 + i); a3 += Vector128.Load(p3 + i);
        }
        return Vector128.Sum((a0 + a1) + (a2 + a3));
    }
}
