using EdgeRuntime.Core.Memory;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Benchmarks;

/// <summary>Random weights and activations for the benchmarks: N(0, 0.02²) weights (the families' init_std) stored as f32,
/// Q8_0 or Q4_0 in 64-byte aligned native memory, and a helper to write small safetensors checkpoints for mechanisms.</summary>
internal static unsafe class BenchData
{
    /// <summary>A (rows, cols) weight matrix of <paramref name="type"/> in a fresh native buffer (the caller disposes it).</summary>
    public static (NativeBuffer Buffer, WeightMatrix Matrix) Matrix(DType type, int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var row = new float[cols];
        long rowBytes = DTypeInfo.ByteCount(type, cols);
        var buffer = new NativeBuffer((rowBytes * rows + 3) / 4);
        byte* data = (byte*)buffer.Pointer;
        for (int r = 0; r < rows; r++)
        {
            Gaussian(rng, row, 0.02f);
            byte* dst = data + r * rowBytes;
            switch (type)
            {
                case DType.F32: row.AsSpan().CopyTo(new Span<float>(dst, cols)); break;
                case DType.Q8_0: BlockQ8_0.Quantize(row, new Span<BlockQ8_0>(dst, cols / 32)); break;
                case DType.Q4_0: BlockQ4_0.Quantize(row, new Span<BlockQ4_0>(dst, cols / 32)); break;
                default: throw new NotSupportedException(type.ToString());
            }
        }
        return (buffer, new WeightMatrix($"bench.{type}.{rows}x{cols}", type, rows, cols, data));
    }

    /// <summary>Fills <paramref name="x"/> with N(0, sigma²) values.</summary>
    public static void Gaussian(Random rng, Span<float> x, float sigma = 1f)
    {
        for (int i = 0; i < x.Length; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            x[i] = (float)(sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
    }

    /// <summary>A native buffer of N(0, 1) floats.</summary>
    public static NativeBuffer Activations(long length, int seed)
    {
        var buffer = new NativeBuffer(length);
        var rng = new Random(seed);
        for (long i = 0; i < length; i += 1 << 20) Gaussian(rng, buffer.Slice(i, (int)Math.Min(1 << 20, length - i)));
        return buffer;
    }
}
