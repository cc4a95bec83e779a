using System.Runtime.InteropServices;

namespace EdgeRuntime.Core.Quant;

/// <summary>ggml Q4_0 block: 32 values as 4-bit codes with one fp16 scale, 18 bytes; value <c>i</c> is <c>(q_i − 8)·D</c>.</summary>
/// <remarks>
/// Byte <c>j</c> of <see cref="Qs"/> holds value <c>j</c> in its low nibble and value <c>j+16</c> in its high nibble
/// (<c>ggml-org/ggml src/ggml-common.h block_q4_0</c>). Quantization is ggml's <c>quantize_row_q4_0_ref</c>: the value of
/// largest magnitude keeps its sign, <c>d = max/−8</c>, <c>q = min(15, (int8)(x·(1/d) + 8.5))</c>, so that value maps to
/// code 0 exactly and the opposite extreme clamps to code 15.
/// Plain data; the static methods are stateless and safe from any thread.
/// </remarks>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ4_0
{
    /// <summary>Values per block.</summary>
    public const int BlockSize = 32;

    /// <summary>Bytes per block.</summary>
    public const int ByteSize = 18;

    /// <summary>Scale.</summary>
    public Half D;

    /// <summary>Packed codes: low nibble = value <c>j</c>, high nibble = value <c>j+16</c>.</summary>
    public fixed byte Qs[16];

    /// <summary>Quantizes <paramref name="x"/> (a multiple of 32 values) into <c>x.Length/32</c> blocks, exactly as ggml's reference.</summary>
    /// <exception cref="ArgumentException">Length not a multiple of 32, or <paramref name="y"/> too short.</exception>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ4_0> y)
    {
        if (x.Length % BlockSize != 0) ThrowHelper.OutOfRange(nameof(x), x.Length, "a multiple of 32");
        if (y.Length < x.Length / BlockSize) ThrowHelper.TooShort(nameof(y), y.Length, x.Length / BlockSize);
        fixed (float* px = x)
        fixed (BlockQ4_0* py = y)
            QuantizeReference(px, py, x.Length / BlockSize);
    }

    /// <summary>Decodes <c>y.Length/32</c> blocks into <paramref name="y"/>.</summary>
    /// <exception cref="ArgumentException">Length not a multiple of 32, or <paramref name="x"/> too short.</exception>
    public static void Dequantize(ReadOnlySpan<BlockQ4_0> x, Span<float> y)
    {
        if (y.Length % BlockSize != 0) ThrowHelper.OutOfRange(nameof(y), y.Length, "a multiple of 32");
        if (x.Length < y.Length / BlockSize) ThrowHelper.TooShort(nameof(x), x.Length, y.Length / BlockSize);
        fixed (BlockQ4_0* px = x)
            DequantizeRow(px, y);
    }

    /// <summary>Row dequantizer with the <see cref="Kernels.QuantRegistry"/> signature: <c>destination.Length</c> values.</summary>
    internal static void DequantizeRow(void* source, Span<float> destination)
    {
        var blocks = (BlockQ4_0*)source;
        int n = destination.Length / BlockSize;
        for (int b = 0; b < n; b++)
        {
            float d = (float)blocks[b].D;
            byte* q = blocks[b].Qs;
            Span<float> dst = destination.Slice(b * BlockSize, BlockSize);
            for (int j = 0; j < 16; j++)
            {
                dst[j] = ((q[j] & 0x0F) - 8) * d;
                dst[j + 16] = ((q[j] >> 4) - 8) * d;
            }
        }
    }

    /// <summary>ggml's <c>quantize_row_q4_0_ref</c>, one block at a time.</summary>
    internal static void QuantizeReference(float* x, BlockQ4_0* y, int blocks)
    {
        for (int b = 0; b < blocks; b++, x += BlockSize)
        {
            float amax = 0f, max = 0f;
            for (int j = 0; j < BlockSize; j++)
            {
                float v = x[j];
                if (amax < Math.Abs(v))
                {
                    amax = Math.Abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            y[b].D = (Half)d;
            byte* q = y[b].Qs;
            for (int j = 0; j < 16; j++)
            {
                // C's (int8_t) cast truncates toward zero; x·id + 8.5 lies in about [0.5, 16.5] here.
                int lo = Math.Min(15, (int)(x[j] * id + 8.5f));
                int hi = Math.Min(15, (int)(x[j + 16] * id + 8.5f));
                q[j] = (byte)(lo | (hi << 4));
            }
        }
    }
}
