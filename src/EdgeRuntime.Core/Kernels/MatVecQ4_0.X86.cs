using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeRuntime.Core.Quant;

namespace EdgeRuntime.Core.Kernels;

// x86 paths of MatVecQ4_0 (ggml src/ggml-cpu/arch/x86/quants.c, ggml_vec_dot_q4_0_q8_0 with bytes_from_nibbles_32).
public static unsafe partial class MatVecQ4_0
{
    /// <summary>AVX-VNNI: nibbles to bytes in [−8, 7], then <c>vpdpbusd(|w|, sign(x, w))</c>.</summary>
    internal static void RowsAvxVnni(BlockQ4_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ4_0* row = w + (long)r * blocks;
            // Two accumulators: consecutive blocks do not wait on each other's FMA.
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
            int b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                acc0 = MultiplyAdd(Vector256.Create(Fp16.Scale(row + b) * xd[b]), Avx.ConvertToVector256Single(SumsVnni(row + b, xq + b)), acc0);
                acc1 = MultiplyAdd(Vector256.Create(Fp16.Scale(row + b + 1) * xd[b + 1]), Avx.ConvertToVector256Single(SumsVnni(row + b + 1, xq + b + 1)), acc1);
            }
            if (b < blocks)
                acc0 = MultiplyAdd(Vector256.Create(Fp16.Scale(row + b) * xd[b]), Avx.ConvertToVector256Single(SumsVnni(row + b, xq + b)), acc0);
            y[r] = Vector256.Sum(acc0 + acc1);
        }
    }

    /// <summary>AVX2: nibbles to bytes in [−8, 7], then ggml's <c>mul_sum_i8_pairs</c> (<c>vpmaddubsw</c> + <c>vpmaddwd</c>).</summary>
    internal static void RowsAvx2(BlockQ4_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ4_0* row = w + (long)r * blocks;
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
            int b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                acc0 = MultiplyAdd(Vector256.Create(Fp16.Scale(row + b) * xd[b]), Avx.ConvertToVector256Single(SumsAvx2(row + b, xq + b)), acc0);
                acc1 = MultiplyAdd(Vector256.Create(Fp16.Scale(row + b + 1) * xd[b + 1]), Avx.ConvertToVector256Single(SumsAvx2(row + b + 1, xq + b + 1)), acc1);
            }
            if (b < blocks)
                acc0 = MultiplyAdd(Vector256.Create(Fp16.Scale(row + b) * xd[b]), Avx.ConvertToVector256Single(SumsAvx2(row + b, xq + b)), acc0);
            y[r] = Vector256.Sum(acc0 + acc1);
        }
    }

    /// <summary>Eight int32 partial sums of one block's 32 products (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SumsVnni(BlockQ4_0* w, BlockQ8_0* x)
    {
        var wq = UnpackNibbles256(w->Qs);
        var aq = Vector256.Load(x->Qs);
        return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Avx2.Sign(wq, wq).AsByte(), Avx2.Sign(aq, wq));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SumsAvx2(BlockQ4_0* w, BlockQ8_0* x)
    {
        var wq = UnpackNibbles256(w->Qs);
        var aq = Vector256.Load(x->Qs);
        var pairs = Avx2.MultiplyAddAdjacent(Avx2.Sign(wq, wq).AsByte(), Avx2.Sign(aq, wq));
        return Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1));
    }

    /// <summary>16 packed bytes to 32 signed codes in element order: low nibbles (values 0..15), then high nibbles (16..31), minus 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> UnpackNibbles256(byte* qs)
    {
        var packed = Vector128.Load(qs);
        var lo = packed & Vector128.Create((byte)0x0F);
        var hi = Vector128.ShiftRightLogical(packed, 4);
        return Vector256.Create(lo, hi).AsSByte() - Vector256.Create((sbyte)8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;
}
