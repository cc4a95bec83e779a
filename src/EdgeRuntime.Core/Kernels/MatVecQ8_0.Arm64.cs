using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeRuntime.Core.Quant;

namespace EdgeRuntime.Core.Kernels;

// Arm64 paths of MatVecQ8_0 (ggml src/ggml-cpu/arch/arm/quants.c, ggml_vec_dot_q8_0_q8_0).
public static unsafe partial class MatVecQ8_0
{
    /// <summary>ARMv8.2 dot product: two <c>sdot</c> per block (16 signed byte pairs each, four per int32 lane).</summary>
    internal static void RowsDp(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ8_0* row = w + (long)r * blocks;
            var acc = Vector128<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                sbyte* wq = row[b].Qs;
                sbyte* aq = xq[b].Qs;
                var sums = Dp.DotProduct(Vector128<int>.Zero, Vector128.Load(wq), Vector128.Load(aq));
                sums = Dp.DotProduct(sums, Vector128.Load(wq + 16), Vector128.Load(aq + 16));
                acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(sums), Vector128.Create(Fp16.Scale(row + b) * xd[b]));
            }
            y[r] = Vector128.Sum(acc);
        }
    }

    /// <summary>NEON without dot product: <c>smull</c>/<c>smull2</c> to 16-bit products (|p| ≤ 128·127), then pairwise
    /// widening adds (<c>saddlp</c>/<c>sadalp</c>) into int32 lanes.</summary>
    internal static void RowsAdvSimd(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ8_0* row = w + (long)r * blocks;
            var acc = Vector128<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                sbyte* wq = row[b].Qs;
                sbyte* aq = xq[b].Qs;
                var w0 = Vector128.Load(wq);
                var w1 = Vector128.Load(wq + 16);
                var a0 = Vector128.Load(aq);
                var a1 = Vector128.Load(aq + 16);
                var sums = AdvSimd.AddPairwiseWidening(AdvSimd.MultiplyWideningLower(w0.GetLower(), a0.GetLower()));
                sums = AdvSimd.AddPairwiseWideningAndAdd(sums, AdvSimd.MultiplyWideningUpper(w0, a0));
                sums = AdvSimd.AddPairwiseWideningAndAdd(sums, AdvSimd.MultiplyWideningLower(w1.GetLower(), a1.GetLower()));
                sums = AdvSimd.AddPairwiseWideningAndAdd(sums, AdvSimd.MultiplyWideningUpper(w1, a1));
                acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(sums), Vector128.Create(Fp16.Scale(row + b) * xd[b]));
            }
            y[r] = Vector128.Sum(acc);
        }
    }

    /// <summary>Prefill tile with the dot product extension: four tokens per row, each weight block loaded once.
    /// <c>y[t·yStride + r]</c> for tokens <c>t</c> = 0..3 of <paramref name="xq"/> (stride <paramref name="blocks"/>); per token
    /// the arithmetic is that of <see cref="RowsDp"/>.</summary>
    internal static void Rows4TokensDp(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, long yStride, int rowStart, int rowEnd)
    {
        BlockQ8_0* x0 = xq, x1 = xq + blocks, x2 = xq + 2 * blocks, x3 = xq + 3 * blocks;
        float* d0 = xd, d1 = xd + blocks, d2 = xd + 2 * blocks, d3 = xd + 3 * blocks;
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ8_0* row = w + (long)r * blocks;
            Vector128<float> acc0 = Vector128<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int b = 0; b < blocks; b++)
            {
                sbyte* wq = row[b].Qs;
                var lo = Vector128.Load(wq);
                var hi = Vector128.Load(wq + 16);
                float dw = Fp16.Scale(row + b);
                acc0 = AdvSimd.FusedMultiplyAdd(acc0, AdvSimd.ConvertToSingle(DotDp(lo, hi, x0 + b)), Vector128.Create(dw * d0[b]));
                acc1 = AdvSimd.FusedMultiplyAdd(acc1, AdvSimd.ConvertToSingle(DotDp(lo, hi, x1 + b)), Vector128.Create(dw * d1[b]));
                acc2 = AdvSimd.FusedMultiplyAdd(acc2, AdvSimd.ConvertToSingle(DotDp(lo, hi, x2 + b)), Vector128.Create(dw * d2[b]));
                acc3 = AdvSimd.FusedMultiplyAdd(acc3, AdvSimd.ConvertToSingle(DotDp(lo, hi, x3 + b)), Vector128.Create(dw * d3[b]));
            }
            y[r] = Vector128.Sum(acc0);
            y[yStride + r] = Vector128.Sum(acc1);
            y[2 * yStride + r] = Vector128.Sum(acc2);
            y[3 * yStride + r] = Vector128.Sum(acc3);
        }
    }

    /// <summary>Int32 partial sums of one block: weight values 0..15 in <paramref name="lo"/>, 16..31 in <paramref name="hi"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> DotDp(Vector128<sbyte> lo, Vector128<sbyte> hi, BlockQ8_0* x) =>
        Dp.DotProduct(Dp.DotProduct(Vector128<int>.Zero, lo, Vector128.Load(x->Qs)), hi, Vector128.Load(x->Qs + 16));
}
