using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeRuntime.Core.Quant;

/// <summary>ggml Q8_0 block: 32 values as int8 with one fp16 scale, 34 bytes; value <c>i</c> is <c>Qs[i]·D</c>.</summary>
/// <remarks>
/// Layout and arithmetic follow ggml (<c>ggml-org/ggml src/ggml-common.h block_q8_0</c>, <c>src/ggml-quants.c
/// quantize_row_q8_0_ref</c>): <c>d = amax/127</c>, <c>q = round(x·(1/d))</c> with C <c>roundf</c> (ties away from zero),
/// and <c>d</c> stored as fp16 after the codes were computed with the full-precision <c>d</c>.
/// Plain data; the static methods are stateless and safe from any thread.
/// </remarks>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ8_0
{
    /// <summary>Values per block.</summary>
    public const int BlockSize = 32;

    /// <summary>Bytes per block.</summary>
    public const int ByteSize = 34;

    /// <summary>Scale.</summary>
    public Half D;

    /// <summary>Codes, one per value.</summary>
    public fixed sbyte Qs[32];

    /// <summary>Quantizes <paramref name="x"/> (a multiple of 32 values) into <c>x.Length/32</c> blocks, exactly as ggml's reference.</summary>
    /// <exception cref="ArgumentException">Length not a multiple of 32, or <paramref name="y"/> too short.</exception>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ8_0> y)
    {
        if (x.Length % BlockSize != 0) ThrowHelper.OutOfRange(nameof(x), x.Length, "a multiple of 32");
        if (y.Length < x.Length / BlockSize) ThrowHelper.TooShort(nameof(y), y.Length, x.Length / BlockSize);
        fixed (float* px = x)
        fixed (BlockQ8_0* py = y)
            QuantizeReference(px, py, x.Length / BlockSize);
    }

    /// <summary>Decodes <c>y.Length/32</c> blocks into <paramref name="y"/>: <c>y[32b+j] = Qs[j]·D</c>.</summary>
    /// <exception cref="ArgumentException">Length not a multiple of 32, or <paramref name="x"/> too short.</exception>
    public static void Dequantize(ReadOnlySpan<BlockQ8_0> x, Span<float> y)
    {
        if (y.Length % BlockSize != 0) ThrowHelper.OutOfRange(nameof(y), y.Length, "a multiple of 32");
        if (x.Length < y.Length / BlockSize) ThrowHelper.TooShort(nameof(x), x.Length, y.Length / BlockSize);
        fixed (BlockQ8_0* px = x)
            DequantizeRow(px, y);
    }

    /// <summary>Row dequantizer with the <see cref="Kernels.QuantRegistry"/> signature: <c>destination.Length</c> values.</summary>
    internal static void DequantizeRow(void* source, Span<float> destination)
    {
        var blocks = (BlockQ8_0*)source;
        int n = destination.Length / BlockSize;
        for (int b = 0; b < n; b++)
        {
            float d = (float)blocks[b].D;
            sbyte* q = blocks[b].Qs;
            Span<float> dst = destination.Slice(b * BlockSize, BlockSize);
            for (int j = 0; j < BlockSize; j++) dst[j] = q[j] * d;
        }
    }

    /// <summary>ggml's <c>quantize_row_q8_0_ref</c>, one block at a time.</summary>
    internal static void QuantizeReference(float* x, BlockQ8_0* y, int blocks)
    {
        for (int b = 0; b < blocks; b++, x += BlockSize)
        {
            float amax = 0f;
            for (int j = 0; j < BlockSize; j++) amax = Math.Max(amax, Math.Abs(x[j]));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            y[b].D = (Half)d;
            sbyte* q = y[b].Qs;
            for (int j = 0; j < BlockSize; j++) q[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        }
    }

    /// <summary>
    /// Quantizes an activation row with SIMD; produces the same bytes as <see cref="QuantizeReference"/>
    /// (same <c>amax</c>, same <c>x·id</c> products, ties rounded away from zero) and also writes each block's scale as f32
    /// (the fp16 value widened) to <paramref name="scales"/> so dot kernels need not convert it per row.
    /// </summary>
    internal static void QuantizeRow(float* x, BlockQ8_0* y, float* scales, int blocks)
    {
        if (Vector256.IsHardwareAccelerated) QuantizeRowVector256(x, y, blocks);
        else if (Vector128.IsHardwareAccelerated) QuantizeRowVector128(x, y, blocks);
        else QuantizeReference(x, y, blocks);
        for (int b = 0; b < blocks; b++) scales[b] = (float)y[b].D;
    }

    internal static void QuantizeRowVector256(float* x, BlockQ8_0* y, int blocks)
    {
        for (int b = 0; b < blocks; b++, x += BlockSize)
        {
            var v0 = Vector256.Load(x);
            var v1 = Vector256.Load(x + 8);
            var v2 = Vector256.Load(x + 16);
            var v3 = Vector256.Load(x + 24);
            var m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            var m4 = Vector128.Max(m.GetLower(), m.GetUpper());
            float amax = Math.Max(Math.Max(m4[0], m4[1]), Math.Max(m4[2], m4[3]));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            y[b].D = (Half)d;
            var vid = Vector256.Create(id);
            var i0 = Vector256.ConvertToInt32(RoundAway(v0 * vid));
            var i1 = Vector256.ConvertToInt32(RoundAway(v1 * vid));
            var i2 = Vector256.ConvertToInt32(RoundAway(v2 * vid));
            var i3 = Vector256.ConvertToInt32(RoundAway(v3 * vid));
            var q = Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3));
            q.Store(y[b].Qs);
        }
    }

    internal static void QuantizeRowVector128(float* x, BlockQ8_0* y, int blocks)
    {
        for (int b = 0; b < blocks; b++, x += BlockSize)
        {
            var m = Vector128<float>.Zero;
            for (int j = 0; j < BlockSize; j += 4) m = Vector128.Max(m, Vector128.Abs(Vector128.Load(x + j)));
            float amax = Math.Max(Math.Max(m[0], m[1]), Math.Max(m[2], m[3]));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            y[b].D = (Half)d;
            var vid = Vector128.Create(id);
            sbyte* q = y[b].Qs;
            for (int j = 0; j < BlockSize; j += 16)
            {
                var i0 = Vector128.ConvertToInt32(RoundAway(Vector128.Load(x + j) * vid));
                var i1 = Vector128.ConvertToInt32(RoundAway(Vector128.Load(x + j + 4) * vid));
                var i2 = Vector128.ConvertToInt32(RoundAway(Vector128.Load(x + j + 8) * vid));
                var i3 = Vector128.ConvertToInt32(RoundAway(Vector128.Load(x + j + 12) * vid));
                Vector128.Narrow(Vector128.Narrow(i0, i1), Vector128.Narrow(i2, i3)).Store(q + j);
            }
        }
    }

    /// <summary>C <c>roundf</c>: truncate, then step away from zero when the dropped fraction is at least one half (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> RoundAway(Vector256<float> v)
    {
        var t = Vector256.Truncate(v);
        var step = Vector256.CopySign(Vector256<float>.One, v) & Vector256.GreaterThanOrEqual(Vector256.Abs(v - t), Vector256.Create(0.5f));
        return t + step;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> RoundAway(Vector128<float> v)
    {
        var t = Vector128.Truncate(v);
        var step = Vector128.CopySign(Vector128<float>.One, v) & Vector128.GreaterThanOrEqual(Vector128.Abs(v - t), Vector128.Create(0.5f));
        return t + step;
    }
}
