using System.Diagnostics;
using System.Runtime.Intrinsics;
using EdgeRuntime.Core.Memory;
using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Tools.Benchmarking;

/// <summary>The machine's read bandwidth as the model's own workers see it: a vectorised sum over a buffer far larger than
/// the caches, split into one contiguous range per worker of the given pool (the access pattern of a mat-vec).</summary>
/// <remarks>
/// Bytes read once per pass; the best of several passes is reported (STREAM's convention), so a ratio against it is
/// conservative. Not thread-safe: one measurement at a time.
/// </remarks>
public sealed unsafe class MemoryBandwidth : IParallelJob
{
    private readonly float* _data;
    private readonly long _length;
    private readonly float[] _sums;

    private MemoryBandwidth(float* data, long length, int workers)
    {
        _data = data;
        _length = length;
        _sums = new float[workers * 16];  // one cache line per worker
    }

    /// <summary>Measures read bandwidth in bytes per second.</summary>
    /// <param name="pool">The workers (the same pool, hence thread count, as the model under test).</param>
    /// <param name="bytes">Buffer size; 1 GiB by default, 30× a 32 MiB L3.</param>
    /// <param name="passes">Timed passes after one warm-up pass.</param>
    /// <returns>The best pass and the mean of all passes, in bytes per second.</returns>
    public static (double Best, double Mean) Measure(WorkerPool pool, long bytes = 1L << 30, int passes = 5)
    {
        ArgumentNullException.ThrowIfNull(pool);
        long floats = bytes / sizeof(float) / 64 * 64;
        using var buffer = new NativeBuffer(floats);
        // Touch every page (and make the sum non-trivial) before timing.
        for (long i = 0; i < floats; i += 1 << 20)
            new Span<float>(buffer.Pointer + i, (int)Math.Min(1 << 20, floats - i)).Fill(1f);
        var job = new MemoryBandwidth(buffer.Pointer, floats, pool.WorkerCount);
        pool.Run(job);
        double best = 0, total = 0;
        for (int p = 0; p < passes; p++)
        {
            long start = Stopwatch.GetTimestamp();
            pool.Run(job);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            double rate = floats * sizeof(float) / seconds;
            best = Math.Max(best, rate);
            total += rate;
        }
        if (job._sums[0] != job._sums[0]) throw new InvalidOperationException("membw: NaN sum");  // keeps the sums observable
        return (best, total / passes);
    }

    /// <inheritdoc />
    public void Execute(int workerIndex, int workerCount)
    {
        long blocks = _length / 64;
        long chunk = blocks / workerCount, rest = blocks % workerCount;
        long b0 = workerIndex * chunk + Math.Min(workerIndex, rest);
        long b1 = b0 + chunk + (workerIndex < rest ? 1 : 0);
        float* p = _data + b0 * 64, end = _data + b1 * 64;
        _sums[workerIndex * 16] = Vector256.IsHardwareAccelerated ? Sum256(p, end) : Sum128(p, end);
    }

    private static float Sum256(float* p, float* end)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
        for (; p < end; p += 64)
        {
            a0 += Vector256.Load(p); a1 += Vector256.Load(p + 8);
            a2 += Vector256.Load(p + 16); a3 += Vector256.Load(p + 24);
            a4 += Vector256.Load(p + 32); a5 += Vector256.Load(p + 40);
            a6 += Vector256.Load(p + 48); a7 += Vector256.Load(p + 56);
        }
        return Vector256.Sum((a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7));
    }

    private static float Sum128(float* p, float* end)
    {
        Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; p < end; p += 16)
        {
            a0 += Vector128.Load(p); a1 += Vector128.Load(p + 4);
            a2 += Vector128.Load(p + 8); a3 += Vector128.Load(p + 12);
        }
        return Vector128.Sum((a0 + a1) + (a2 + a3));
    }
}
