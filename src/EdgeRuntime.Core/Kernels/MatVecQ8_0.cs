using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Core.Kernels;

/// <summary>Mat-vec <c>y = W·x</c> for Q8_0 weights: <c>x</c> is quantized to Q8_0 once per call, then each row is a sum of
/// int8 block dot products scaled by <c>d_w·d_x</c>.</summary>
/// <remarks>
/// <c>y[r] = Σ_b (Σ_j w[r,b].q[j]·x[b].q[j]) · d_w[r,b] · d_x[b]</c>, ggml's <c>ggml_vec_dot_q8_0_q8_0</c>
/// (ggml-org/ggml src/ggml-cpu/quants.c; arch/x86 and arch/arm for the SIMD forms). The integer block sums are exact in every
/// path; paths differ only in the order of the f32 accumulation. Paths, chosen once by hardware support: AVX-VNNI
/// (<c>vpdpbusd</c>), AVX2 (<c>vpmaddubsw</c> on sign-adjusted bytes, ggml's <c>mul_sum_i8_pairs</c>), ARM dot product
/// (<c>sdot</c>), plain NEON (<c>smull</c> + <c>sadalp</c>), scalar. .NET 10 exposes no AVX-512 VNNI class (only 128/256-bit
/// <c>AvxVnni</c>), so there is no 512-bit path. Stateless apart from thread-owned scratch; safe from any thread.
/// </remarks>
public static unsafe partial class MatVecQ8_0
{
    /// <summary>The path this process uses: "AvxVnni", "Avx2", "Dp", "AdvSimd" or "Scalar".</summary>
    public static string PathName =>
        AvxVnni.IsSupported ? "AvxVnni" :
        Avx2.IsSupported ? "Avx2" :
        Dp.IsSupported ? "Dp" :
        AdvSimd.IsSupported ? "AdvSimd" : "Scalar";

    /// <summary>Rows <c>[rowStart, rowEnd)</c> of <c>y = W·x</c> (the <see cref="MatVecRegistry"/> row kernel).</summary>
    /// <param name="w">Q8_0 weights <c>(rows, cols)</c>.</param>
    /// <param name="x">Input, <c>cols</c> floats.</param>
    /// <param name="y">Output, <c>rows</c> floats; only the row range is written.</param>
    /// <param name="rowStart">First row.</param>
    /// <param name="rowEnd">One past the last row.</param>
    public static void Rows(WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        var xq = QuantizedActivation.Quantize(x, 1, w.Cols, out float* xd);
        RowsQuantized((BlockQ8_0*)w.Data, w.Cols / BlockQ8_0.BlockSize, xq, xd, y, rowStart, rowEnd);
    }

    /// <summary>Rows <c>[rowStart, rowEnd)</c> of <c>y = W·x</c> with <c>x</c> already quantized (the
    /// <see cref="MatVecRegistry.RegisterQuantized"/> kernel: <see cref="Linear"/> quantizes once for all workers).</summary>
    public static void QuantizedRows(WeightMatrix w, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd) =>
        RowsQuantized((BlockQ8_0*)w.Data, w.Cols / BlockQ8_0.BlockSize, xq, xd, y, rowStart, rowEnd);

    /// <summary>Prefill: rows <c>[rowStart, rowEnd)</c> of <c>Y = X·Wᵀ</c> for <paramref name="tokens"/> tokens (layout of
    /// <see cref="MatMul.Rows"/>). Activations are quantized once; a tile of weight rows stays in cache across all tokens,
    /// and on AVX2/AVX-VNNI/dot-product CPUs four tokens share each weight load.</summary>
    public static void MatMulRows(WeightMatrix w, float* x, int tokens, float* y, int rowStart, int rowEnd)
    {
        int blocks = w.Cols / BlockQ8_0.BlockSize;
        var xq = QuantizedActivation.Quantize(x, tokens, w.Cols, out float* xd);
        int tileRows = QuantizedActivation.TileRows(w.RowBytes);
        for (int tileStart = rowStart; tileStart < rowEnd; tileStart += tileRows)
        {
            int tileEnd = Math.Min(rowEnd, tileStart + tileRows);
            int t = 0;
            // Four tokens at a time where a four-token kernel exists (each weight block read once per four tokens).
            for (; t + 4 <= tokens && (Avx2.IsSupported || Dp.IsSupported); t += 4)
            {
                BlockQ8_0* xt = xq + (long)t * blocks;
                float* dt = xd + (long)t * blocks, yt = y + (long)t * w.Rows;
                if (Avx2.IsSupported) Rows4TokensX86((BlockQ8_0*)w.Data, blocks, xt, dt, yt, w.Rows, tileStart, tileEnd);
                else Rows4TokensDp((BlockQ8_0*)w.Data, blocks, xt, dt, yt, w.Rows, tileStart, tileEnd);
            }
            for (; t < tokens; t++)
                RowsQuantized((BlockQ8_0*)w.Data, blocks, xq + (long)t * blocks, xd + (long)t * blocks, y + (long)t * w.Rows, tileStart, tileEnd);
        }
    }

    /// <summary>Dispatches to the best supported path.</summary>
    internal static void RowsQuantized(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        if (AvxVnni.IsSupported) RowsAvxVnni(w, blocks, xq, xd, y, rowStart, rowEnd);
        else if (Avx2.IsSupported) RowsAvx2(w, blocks, xq, xd, y, rowStart, rowEnd);
        else if (Dp.IsSupported) RowsDp(w, blocks, xq, xd, y, rowStart, rowEnd);
        else if (AdvSimd.IsSupported) RowsAdvSimd(w, blocks, xq, xd, y, rowStart, rowEnd);
        else RowsReference(w, blocks, xq, xd, y, rowStart, rowEnd);
    }

    /// <summary>Scalar twin (ggml <c>ggml_vec_dot_q8_0_q8_0_generic</c>): per block an exact int sum, then
    /// <c>sum += sumi·(d_w·d_x)</c> in f32.</summary>
    /// <param name="w">Weight blocks, <paramref name="blocks"/> per row.</param>
    /// <param name="blocks">Blocks per row.</param>
    /// <param name="xq">Activation blocks.</param>
    /// <param name="xd">Activation scales as f32 (equal to <c>(float)xq[b].D</c>).</param>
    /// <param name="y">Output.</param>
    /// <param name="rowStart">First row.</param>
    /// <param name="rowEnd">One past the last row.</param>
    internal static void RowsReference(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ8_0* row = w + (long)r * blocks;
            float sum = 0f;
            for (int b = 0; b < blocks; b++)
            {
                sbyte* wq = row[b].Qs;
                sbyte* aq = xq[b].Qs;
                int sumi = 0;
                for (int j = 0; j < BlockQ8_0.BlockSize; j++) sumi += wq[j] * aq[j];
                sum += sumi * (Fp16.Scale(row + b) * xd[b]);
            }
            y[r] = sum;
        }
    }
}
