using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Tests.Kernels;

/// <summary>Decode through <see cref="Linear"/> on several workers (shared quantized activation, static share plus a
/// dynamically taken tail) gives exactly the single-worker result: every row's arithmetic is the same whichever worker
/// and chunk computes it.</summary>
public sealed unsafe class LinearDecodeSplitTests
{
    [Theory]
    [InlineData(DType.F32, 1037, 96)]
    [InlineData(DType.Q8_0, 1037, 96)]
    [InlineData(DType.Q4_0, 1037, 96)]
    [InlineData(DType.Q8_0, 256, 1024)]
    [InlineData(DType.Q4_0, 4099, 64)]
    public void ManyWorkers_EqualOneWorker_Exactly(DType type, int rows, int cols)
    {
        var rng = new Random(rows + cols);
        var weights = new float[rows * cols];
        for (int i = 0; i < weights.Length; i++) weights[i] = (float)(rng.NextDouble() * 2 - 1);
        var x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float)Math.Sin(0.7 * i);
        long rowBytes = DTypeInfo.ByteCount(type, cols);
        var bytes = new byte[rowBytes * rows];
        for (int r = 0; r < rows; r++)
        {
            var src = weights.AsSpan(r * cols, cols);
            var dst = bytes.AsSpan((int)(r * rowBytes), (int)rowBytes);
            if (type == DType.F32) System.Runtime.InteropServices.MemoryMarshal.AsBytes(src).CopyTo(dst);
            else Quantization.Quantize(type, src, dst);
        }
        var one = new float[rows];
        fixed (byte* pw = bytes)
        {
            var w = new WeightMatrix("w", type, rows, cols, pw);
            Linear.Forward(WorkerPool.Single, w, default, x, one);
            foreach (int threads in new[] { 2, 3, 5 })
            {
                using var pool = new WorkerPool(threads);
                for (int round = 0; round < 20; round++)
                {
                    var many = new float[rows];
                    Linear.Forward(pool, w, default, x, many);
                    for (int r = 0; r < rows; r++)
                        Assert.True(BitConverter.SingleToInt32Bits(one[r]) == BitConverter.SingleToInt32Bits(many[r]),
                            $"{type} {rows}x{cols}, {threads} workers, round {round}: row {r}: expected {one[r]}, got {many[r]}");
                }
            }
        }
    }
}
