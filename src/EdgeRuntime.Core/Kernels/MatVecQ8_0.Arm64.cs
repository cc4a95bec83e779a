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
}
