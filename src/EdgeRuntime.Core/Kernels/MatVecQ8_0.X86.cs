using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeRuntime.Core.Quant;

namespace EdgeRuntime.Core.Kernels;

// x86 paths of MatVecQ8_0 (ggml src/ggml-cpu/arch/x86/quants.c, ggml_vec_dot_q8_0_q8_0).
public static unsafe partial class MatVecQ8_0
{
    /// <summary>AVX-VNNI: <c>vpdpbusd(|w|, sign(x, w))</c> sums four byte products per int32 lane without saturation.</summary>
    internal static void RowsAvxVnni(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ8_0* row = w + (long)r * blocks;
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

    /// <summary>AVX2: <c>vpmaddubsw(|w|, sign(x, w))</c> then <c>vpmaddwd</c> with ones. Pair sums stay within 2·128·127 = 32512,
    /// so the saturating 16-bit step never saturates (activation codes are in [−127, 127]; a weight byte may be −128).</summary>
    internal static void RowsAvx2(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ8_0* row = w + (long)r * blocks;
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
    private static Vector256<int> SumsVnni(BlockQ8_0* w, BlockQ8_0* x)
    {
        var wq = Vector256.Load(w->Qs);
        var aq = Vector256.Load(x->Qs);
        return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Avx2.Sign(wq, wq).AsByte(), Avx2.Sign(aq, wq));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SumsAvx2(BlockQ8_0* w, BlockQ8_0* x)
    {
        var wq = Vector256.Load(w->Qs);
        var aq = Vector256.Load(x->Qs);
        var pairs = Avx2.MultiplyAddAdjacent(Avx2.Sign(wq, wq).AsByte(), Avx2.Sign(aq, wq));
        return Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;
}
