using System.Diagnostics;
using System.Runtime.Intrinsics;
using EdgeRuntime.Core.Memory;
using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Tools.Benchmarking;

/// <summary>The fp32 mat-mat peak this process can reach: a BLIS-style 6×16 register-blocked GEMM micro-kernel
/// (<c>C[6,16] += A[6,K]·B[K,16]</c>, twelve 8-wide accumulators, one broadcast per row and two loads of B per k) over
/// packed panels that stay in L1, run on every worker of the pool at once.</summary>
/// <remarks>
/// This is the ceiling a prefill GEMM can approach on this machine (the BLIS Haswell/Zen kernel shape, FMA-bound with
/// cached operands); prefill FLOP/s are reported as a fraction of it. With 16 vector registers the kernel keeps 12
/// accumulators, 2 B vectors and 1 broadcast live. Without 256-bit vectors it runs the same shape on 128-bit vectors.
/// Not thread-safe: one measurement at a time.
/// </remarks>
public sealed unsafe class GemmPeak : IParallelJob
{
    private const int K = 256, Mr = 6, Nr = 16;
    private readonly NativeBuffer _panels;
    private readonly int _repeats;

    private GemmPeak(int workers, int repeats)
    {
        // Per worker: A (K·6), B (K·16), C (6·16), 64-byte aligned slices.
        _panels = new NativeBuffer((long)workers * PanelFloats);
        var s = _panels.Span;
        for (int i = 0; i < s.Length; i++) s[i] = 1f / (1 + (i % 97));
        _repeats = repeats;
    }

    private static int PanelFloats => K * Mr + K * Nr + Mr * Nr + 16;

    /// <summary>FLOPs one <see cref="Execute"/> call performs per worker.</summary>
    private long FlopsPerWorker => 2L * Mr * Nr * K * _repeats;

    /// <summary>Measures the peak in FLOP/s on all workers of <paramref name="pool"/>.</summary>
    /// <param name="pool">The workers (same pool as the model under test).</param>
    /// <param name="passes">Timed passes after one warm-up; the best is reported.</param>
    public static double Measure(WorkerPool pool, int passes = 5)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var job = new GemmPeak(pool.WorkerCount, repeats: 200_000);
        try
        {
            pool.Run(job);
            double best = 0;
            for (int p = 0; p < passes; p++)
            {
                long start = Stopwatch.GetTimestamp();
                pool.Run(job);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                best = Math.Max(best, job.FlopsPerWorker * pool.WorkerCount / seconds);
            }
            return best;
        }
        finally
        {
            job._panels.Dispose();
        }
    }

    /// <inheritdoc />
    public void Execute(int workerIndex, int workerCount)
    {
        float* a = _panels.Pointer + (long)workerIndex * PanelFloats;
        float* b = a + K * Mr, c = b + K * Nr;
        for (int r = 0; r < _repeats; r++)
        {
            if (Vector256.IsHardwareAccelerated) Kernel256(a, b, c);
            else Kernel128(a, b, c);
        }
    }

    /// <summary>C[6,16] += A·B with A packed k-major (6 per k) and B packed k-major (16 per k).</summary>
    private static void Kernel256(float* a, float* b, float* c)
    {
        Vector256<float> c00 = Vector256.Load(c), c01 = Vector256.Load(c + 8), c10 = Vector256.Load(c + 16), c11 = Vector256.Load(c + 24);
        Vector256<float> c20 = Vector256.Load(c + 32), c21 = Vector256.Load(c + 40), c30 = Vector256.Load(c + 48), c31 = Vector256.Load(c + 56);
        Vector256<float> c40 = Vector256.Load(c + 64), c41 = Vector256.Load(c + 72), c50 = Vector256.Load(c + 80), c51 = Vector256.Load(c + 88);
        for (int k = 0; k < K; k++, a += Mr, b += Nr)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]);
            c00 = Vector256.MultiplyAddEstimate(x, b0, c00); c01 = Vector256.MultiplyAddEstimate(x, b1, c01);
            x = Vector256.Create(a[1]);
            c10 = Vector256.MultiplyAddEstimate(x, b0, c10); c11 = Vector256.MultiplyAddEstimate(x, b1, c11);
            x = Vector256.Create(a[2]);
            c20 = Vector256.MultiplyAddEstimate(x, b0, c20); c21 = Vector256.MultiplyAddEstimate(x, b1, c21);
            x = Vector256.Create(a[3]);
            c30 = Vector256.MultiplyAddEstimate(x, b0, c30); c31 = Vector256.MultiplyAddEstimate(x, b1, c31);
            x = Vector256.Create(a[4]);
            c40 = Vector256.MultiplyAddEstimate(x, b0, c40); c41 = Vector256.MultiplyAddEstimate(x, b1, c41);
            x = Vector256.Create(a[5]);
            c50 = Vector256.MultiplyAddEstimate(x, b0, c50); c51 = Vector256.MultiplyAddEstimate(x, b1, c51);
        }
        c00.Store(c); c01.Store(c + 8); c10.Store(c + 16); c11.Store(c + 24); c20.Store(c + 32); c21.Store(c + 40);
        c30.Store(c + 48); c31.Store(c + 56); c40.Store(c + 64); c41.Store(c + 72); c50.Store(c + 80); c51.Store(c + 88);
    }

    /// <summary>The same shape on 128-bit vectors (6×8 per k-step pair of loads); counted as 6·16 anyway by running twice.</summary>
    private static void Kernel128(float* a, float* b, float* c)
    {
        for (int half = 0; half < 2; half++)
        {
            float* bh = b + half * 8, ch = c + half * 48;
            Vector128<float> c00 = Vector128.Load(ch), c01 = Vector128.Load(ch + 4), c10 = Vector128.Load(ch + 8), c11 = Vector128.Load(ch + 12);
            Vector128<float> c20 = Vector128.Load(ch + 16), c21 = Vector128.Load(ch + 20), c30 = Vector128.Load(ch + 24), c31 = Vector128.Load(ch + 28);
            Vector128<float> c40 = Vector128.Load(ch + 32), c41 = Vector128.Load(ch + 36), c50 = Vector128.Load(ch + 40), c51 = Vector128.Load(ch + 44);
            float* ak = a;
            for (int k = 0; k < K; k++, ak += Mr, bh += Nr)
            {
                var b0 = Vector128.Load(bh);
                var b1 = Vector128.Load(bh + 4);
                var x = Vector128.Create(ak[0]);
                c00 = Vector128.MultiplyAddEstimate(x, b0, c00); c01 = Vector128.MultiplyAddEstimate(x, b1, c01);
                x = Vector128.Create(ak[1]);
                c10 = Vector128.MultiplyAddEstimate(x, b0, c10); c11 = Vector128.MultiplyAddEstimate(x, b1, c11);
                x = Vector128.Create(ak[2]);
                c20 = Vector128.MultiplyAddEstimate(x, b0, c20); c21 = Vector128.MultiplyAddEstimate(x, b1, c21);
                x = Vector128.Create(ak[3]);
                c30 = Vector128.MultiplyAddEstimate(x, b0, c30); c31 = Vector128.MultiplyAddEstimate(x, b1, c31);
                x = Vector128.Create(ak[4]);
                c40 = Vector128.MultiplyAddEstimate(x, b0, c40); c41 = Vector128.MultiplyAddEstimate(x, b1, c41);
                x = Vector128.Create(ak[5]);
                c50 = Vector128.MultiplyAddEstimate(x, b0, c50); c51 = Vector128.MultiplyAddEstimate(x, b1, c51);
            }
            c00.Store(ch); c01.Store(ch + 4); c10.Store(ch + 8); c11.Store(ch + 12); c20.Store(ch + 16); c21.Store(ch + 20);
            c30.Store(ch + 24); c31.Store(ch + 28); c40.Store(ch + 32); c41.Store(ch + 36); c50.Store(ch + 40); c51.Store(ch + 44);
        }
    }
}
