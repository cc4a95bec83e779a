using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Core.Kernels;

/// <summary>A linear layer <c>y = W·x (+ b)</c> over one or many tokens, rows split across a <see cref="WorkerPool"/>.</summary>
/// <remarks>
/// One reusable job object per pool thread-safe call: the instance is guarded by a lock so concurrent callers never share
/// its fields, and no allocation happens per call. Work below <see cref="ParallelThreshold"/> multiply-adds runs inline.
/// </remarks>
public sealed unsafe class Linear : IParallelJob
{
    /// <summary>Products smaller than this (rows×cols×tokens) run on the calling thread.</summary>
    public const long ParallelThreshold = 64 * 1024;

    [ThreadStatic] private static Linear? t_job;
    [ThreadStatic] private static long t_weightBytes, t_multiplyAdds;
    private WeightMatrix? _w;
    private float* _x, _y;
    private int _tokens;

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
            job._w = w; job._x = px; job._y = py; job._tokens = tokens;
            if (pool.WorkerCount == 1 || (long)w.Rows * w.Cols * tokens < ParallelThreshold) job.Execute(0, 1);
            else pool.Run(job);
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
        var (g0, g1) = WorkerPool.Partition(groups, workerIndex, workerCount);
        int r0 = g0 * 4, r1 = Math.Min(w.Rows, g1 * 4);
        if (r0 >= r1) return;
        if (_tokens == 1) MatVec.Rows(w, _x, _y, r0, r1);
        else MatMul.Rows(w, _x, _tokens, _y, r0, r1);
    }
}
