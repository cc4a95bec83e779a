using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Core.Kernels;

/// <summary>A linear layer <c>y = W·x (+ b)</c> over one or many tokens, rows split across a <see cref="WorkerPool"/>.</summary>
/// <remarks>
/// One reusable job object per calling thread, so concurrent callers never share its fields, and no allocation happens
/// per call. Work below <see cref="ParallelThreshold"/> multiply-adds runs inline. Decode (one token) on several workers:
/// a quantized layer's activation is quantized once by the caller and shared (not once per worker), and the rows are
/// split as a static share per worker followed by a tail of small chunks that whichever worker finishes first takes, so
/// a worker that DRAM serves more slowly does not hold up the others.
/// </remarks>
public sealed unsafe class Linear : IParallelJob
{
    /// <summary>Products smaller than this (rows×cols×tokens) run on the calling thread.</summary>
    public const long ParallelThreshold = 64 * 1024;

    [ThreadStatic] private static Linear? t_job;
    [ThreadStatic] private static long t_weightBytes, t_multiplyAdds;
    /// <summary>Fraction of a decode product's row groups handed out dynamically at the end (1/<c>TailDivisor</c>).</summary>
    private const int TailDivisor = 8;

    private WeightMatrix? _w;
    private float* _x, _y;
    private int _tokens;
    private BlockQ8_0* _xq;  // shared quantized activation (decode of Q8_0/Q4_0 on several workers), else null
    private float* _xd;
    private int _nextTail;

    /// <summary>Weight bytes that <see cref="Forward"/> calls made on the calling thread have streamed (each call counts
    /// its matrix once, whatever the token count): the "weight bytes read per token" of a decode step, for benchmarks.</summary>
    public static long ThreadWeightBytes => t_weightBytes;

    /// <summary>Multiply-adds (<c>rows·cols·tokens</c>) of the <see cref="Forward"/> calls made on the calling thread, for
    /// FLOP/s figures (2 FLOPs each).</summary>
    public static long ThreadMultiplyAdds => t_multiplyAdds;

    /// <summary>Computes <c>y[t] = W·x[t] + bias</c> for <c>t</c> in <c>[0, tokens)</c>.</summary>
    /// <param name="pool">Workers that split the rows.</param>
    /// <param name="w">Weights <c>(rows, cols)</c>.</param>
    /// <param name="bias">Empty, or <c>rows</c> floats.</param>
    /// <param name="x">Input <c>(tokens, cols)</c>, row-major.</param>
    /// <param name="y">Output <c>(tokens, rows)</c>, row-major; must not overlap x.</param>
    /// <param name="tokens">Token count (1 for decode).</param>
    public static void Forward(WorkerPool pool, WeightMatrix w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, Span<float> y, int tokens = 1)
    {
        long needX = (long)tokens * w.Cols, needY = (long)tokens * w.Rows;
        if (x.Length < needX) ThrowHelper.TooShort(nameof(x), x.Length, (int)needX);
        if (y.Length < needY) ThrowHelper.TooShort(nameof(y), y.Length, (int)needY);
        if (!bias.IsEmpty && bias.Length != w.Rows) ThrowHelper.LengthMismatch(nameof(bias), bias.Length, w.Rows);
        t_weightBytes += w.ByteLength;
        t_multiplyAdds += (long)w.Rows * w.Cols * tokens;
        fixed (float* px = x, py = y)
        {
            var job = t_job ??= new Linear();
            job._w = w; job._x = px; job._y = py; job._tokens = tokens; job._xq = null; job._nextTail = 0;
            if (pool.WorkerCount == 1 || (long)w.Rows * w.Cols * tokens < ParallelThreshold)
            {
                job.Execute(0, 1);
            }
            else
            {
                if (tokens == 1 && MatVecRegistry.HasQuantizedKernel(w.Type))
                    job._xq = QuantizedActivation.Quantize(px, 1, w.Cols, out job._xd);
                pool.Run(job);
            }
            job._w = null;
        }
        if (!bias.IsEmpty)
            for (int t = 0; t < tokens; t++)
                System.Numerics.Tensors.TensorPrimitives.Add(y.Slice(t * w.Rows, w.Rows), bias, y.Slice(t * w.Rows, w.Rows));
    }

    /// <inheritdoc />
    public void Execute(int workerIndex, int workerCount)
    {
        var w = _w!;
        // Split in multiples of 4 rows so the 4-row kernels stay on their fast path.
        int groups = (w.Rows + 3) / 4;
        if (_tokens != 1 || workerCount == 1 || groups < 4 * TailDivisor * workerCount)
        {
            var (g0, g1) = WorkerPool.Partition(groups, workerIndex, workerCount);
            RowGroups(g0, g1);
            return;
        }
        // Decode: a static share each, then the tail in chunks to whoever is free.
        int tail = groups / TailDivisor, head = groups - tail;
        var (s0, s1) = WorkerPool.Partition(head, workerIndex, workerCount);
        RowGroups(s0, s1);
        int chunk = Math.Max(1, tail / (4 * workerCount));
        for (int c = Interlocked.Add(ref _nextTail, chunk) - chunk; c < tail; c = Interlocked.Add(ref _nextTail, chunk) - chunk)
            RowGroups(head + c, head + Math.Min(tail, c + chunk));
    }

    /// <summary>Rows of groups <c>[g0, g1)</c> (4 rows each; the last group may be short).</summary>
    private void RowGroups(int g0, int g1)
    {
        var w = _w!;
        int r0 = g0 * 4, r1 = Math.Min(w.Rows, g1 * 4);
        if (r0 >= r1) return;
        if (_tokens != 1) MatMul.Rows(w, _x, _tokens, _y, r0, r1);
        else if (_xq != null) MatVecRegistry.QuantizedRows(w, _xq, _xd, _y, r0, r1);
        else MatVec.Rows(w, _x, _y, r0, r1);
    }
}
