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
            var acc = Vector256<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                var wq = Vector256.Load(row[b].Qs);
                var aq = Vector256.Load(xq[b].Qs);
                var sums = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Avx2.Sign(wq, wq).AsByte(), Avx2.Sign(aq, wq));
                acc = MultiplyAdd(Vector256.Create((float)row[b].D * xd[b]), Avx.ConvertToVector256Single(sums), acc);
            }
            y[r] = Vector256.Sum(acc);
        }
    }

    /// <summary>AVX2: <c>vpmaddubsw(|w|, sign(x, w))</c> then <c>vpmaddwd</c> with ones. Pair sums stay below 2·128·127 = 32512,
    /// so the saturating 16-bit step never saturates (activation codes are in [−127, 127]).</summary>
    internal static void RowsAvx2(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        var ones = Vector256.Create((short)1);
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ8_0* row = w + (long)r * blocks;
            var acc = Vector256<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                var wq = Vector256.Load(row[b].Qs);
                var aq = Vector256.Load(xq[b].Qs);
                var pairs = Avx2.MultiplyAddAdjacent(Avx2.Sign(wq, wq).AsByte(), Avx2.Sign(aq, wq));
                var sums = Avx2.MultiplyAddAdjacent(pairs, ones);
                acc = MultiplyAdd(Vector256.Create((float)row[b].D * xd[b]), Avx.ConvertToVector256Single(sums), acc);
            }
            y[r] = Vector256.Sum(acc);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;
}
