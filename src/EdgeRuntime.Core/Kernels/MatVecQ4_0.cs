using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Core.Kernels;

/// <summary>Mat-vec <c>y = W·x</c> for Q4_0 weights against the activation quantized to Q8_0 once per call.</summary>
/// <remarks>
/// <c>y[r] = Σ_b (Σ_{j&lt;16} (lo_j−8)·x.q[j] + (hi_j−8)·x.q[j+16]) · d_w · d_x</c>, ggml's <c>ggml_vec_dot_q4_0_q8_0</c>
/// (ggml-org/ggml src/ggml-cpu/quants.c and arch/x86, arch/arm). Nibbles are unpacked to signed bytes in [−8, 7] and then
/// take the same int8 dot products as <see cref="MatVecQ8_0"/>; integer block sums are exact in every path. Blocks stay
/// in the file's layout (no load-time repacking). Stateless apart from thread-owned scratch; safe from any thread.
/// </remarks>
public static unsafe partial class MatVecQ4_0
{
    /// <summary>The path this process uses: "AvxVnni", "Avx2", "Dp", "AdvSimd" or "Scalar".</summary>
    public static string PathName => MatVecQ8_0.PathName;

    /// <summary>Rows <c>[rowStart, rowEnd)</c> of <c>y = W·x</c> (the <see cref="MatVecRegistry"/> row kernel).</summary>
    /// <param name="w">Q4_0 weights <c>(rows, cols)</c>.</param>
    /// <param name="x">Input, <c>cols</c> floats.</param>
    /// <param name="y">Output, <c>rows</c> floats; only the row range is written.</param>
    /// <param name="rowStart">First row.</param>
    /// <param name="rowEnd">One past the last row.</param>
    public static void Rows(WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        var xq = QuantizedActivation.Quantize(x, 1, w.Cols, out float* xd);
        RowsQuantized((BlockQ4_0*)w.Data, w.Cols / BlockQ4_0.BlockSize, xq, xd, y, rowStart, rowEnd);
    }

    /// <summary>Rows <c>[rowStart, rowEnd)</c> of <c>y = W·x</c> with <c>x</c> already quantized (the
    /// <see cref="MatVecRegistry.RegisterQuantized"/> kernel: <see cref="Linear"/> quantizes once for all workers).</summary>
    public static void QuantizedRows(WeightMatrix w, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd) =>
        RowsQuantized((BlockQ4_0*)w.Data, w.Cols / BlockQ4_0.BlockSize, xq, xd, y, rowStart, rowEnd);

    /// <summary>Prefill: rows <c>[rowStart, rowEnd)</c> of <c>Y = X·Wᵀ</c> for <paramref name="tokens"/> tokens (layout of
    /// <see cref="MatMul.Rows"/>). Activations are quantized once; a tile of weight rows stays in cache across all tokens,
    /// and on AVX2/AVX-VNNI/dot-product CPUs four tokens share each weight load.</summary>
    public static void MatMulRows(WeightMatrix w, float* x, int tokens, float* y, int rowStart, int rowEnd)
    {
        int blocks = w.Cols / BlockQ4_0.BlockSize;
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
                if (Avx2.IsSupported) Rows4TokensX86((BlockQ4_0*)w.Data, blocks, xt, dt, yt, w.Rows, tileStart, tileEnd);
                else Rows4TokensDp((BlockQ4_0*)w.Data, blocks, xt, dt, yt, w.Rows, tileStart, tileEnd);
            }
            for (; t < tokens; t++)
                RowsQuantized((BlockQ4_0*)w.Data, blocks, xq + (long)t * blocks, xd + (long)t * blocks, y + (long)t * w.Rows, tileStart, tileEnd);
        }
    }

    /// <summary>Dispatches to the best supported path.</summary>
    internal static void RowsQuantized(BlockQ4_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        if (AvxVnni.IsSupported) RowsAvxVnni(w, blocks, xq, xd, y, rowStart, rowEnd);
        else if (Avx2.IsSupported) RowsAvx2(w, blocks, xq, xd, y, rowStart, rowEnd);
        else if (Dp.IsSupported) RowsDp(w, blocks, xq, xd, y, rowStart, rowEnd);
        else if (AdvSimd.IsSupported) RowsAdvSimd(w, blocks, xq, xd, y, rowStart, rowEnd);
        else RowsReference(w, blocks, xq, xd, y, rowStart, rowEnd);
    }

    /// <summary>Scalar twin (ggml <c>ggml_vec_dot_q4_0_q8_0_generic</c>): exact int sum per block, then
    /// <c>sum += sumi·d_w·d_x</c> in f32.</summary>
    /// <param name="w">Weight blocks, <paramref name="blocks"/> per row.</param>
    /// <param name="blocks">Blocks per row.</param>
    /// <param name="xq">Activation blocks.</param>
    /// <param name="xd">Activation scales as f32 (equal to <c>(float)xq[b].D</c>).</param>
    /// <param name="y">Output.</param>
    /// <param name="rowStart">First row.</param>
    /// <param name="rowEnd">One past the last row.</param>
    internal static void RowsReference(BlockQ4_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ4_0* row = w + (long)r * blocks;
            float sum = 0f;
            for (int b = 0; b < blocks; b++)
            {
                byte* wq = row[b].Qs;
                sbyte* aq = xq[b].Qs;
                int sumi = 0;
                for (int j = 0; j < 16; j++)
                    sumi += ((wq[j] & 0x0F) - 8) * aq[j] + ((wq[j] >> 4) - 8) * aq[j + 16];
                sum += sumi * Fp16.Scale(row + b) * xd[b];
            }
            y[r] = sum;
        }
    }
}
