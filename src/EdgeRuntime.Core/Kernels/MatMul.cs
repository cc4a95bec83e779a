using System.Runtime.Intrinsics;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Core.Kernels;

/// <summary>Prefill product <c>Y = X·Wᵀ</c>: <c>X</c> is <c>(tokens, cols)</c>, <c>W</c> is <c>(rows, cols)</c>, <c>Y</c> is <c>(tokens, rows)</c>.</summary>
/// <remarks>
/// Cache-blocked: a tile of W rows (about 128 KiB) stays in L2 while every block of 4 tokens passes over it, and the
/// register tile is 2 rows × 4 tokens. Callers split rows across workers. Stateless; safe from any thread.
/// </remarks>
public static unsafe class MatMul
{
    private const int TileBytes = 128 * 1024;

    /// <summary>Computes columns <c>[rowStart, rowEnd)</c> of Y for every token.</summary>
    public static void Rows(WeightMatrix w, float* x, int tokens, float* y, int rowStart, int rowEnd)
    {
        if (w.Type != DType.F32)
        {
            // Quantised weights: a registered prefill kernel (activations quantised once, weight tiles reused across tokens),
            // else one mat-vec per token (quantised kernels quantise the activation themselves).
            if (MatVecRegistry.TryMatMulRows(w, x, tokens, y, rowStart, rowEnd)) return;
            int rows = w.Rows;
            for (int t = 0; t < tokens; t++)
                MatVecRegistry.Rows(w, x + (long)t * w.Cols, y + (long)t * rows, rowStart, rowEnd);
            return;
        }
        F32Rows((float*)w.Data, w.Rows, w.Cols, x, tokens, y, rowStart, rowEnd);
    }

    /// <summary>f32 kernel over a row range.</summary>
    public static void F32Rows(float* w, int rows, int cols, float* x, int tokens, float* y, int rowStart, int rowEnd)
    {
        if (!Vector256.IsHardwareAccelerated || cols < 8)
        {
            // arm64 (Vector128 only) and narrow rows: one vectorised mat-vec per token over the same row range.
            for (int t = 0; t < tokens; t++) MatVec.F32Rows(w, cols, x + (long)t * cols, y + (long)t * rows, rowStart, rowEnd);
            return;
        }
        int tileRows = Math.Max(2, TileBytes / (cols * sizeof(float)));
        for (int tileStart = rowStart; tileStart < rowEnd; tileStart += tileRows)
        {
            int tileEnd = Math.Min(rowEnd, tileStart + tileRows);
            int t = 0;
            for (; t + 4 <= tokens; t += 4)
            {
                int r = tileStart;
                for (; r + 2 <= tileEnd; r += 2) Tile2x4(w, rows, cols, x, y, r, t);
                for (; r < tileEnd; r++)
                    for (int tt = t; tt < t + 4; tt++)
                        y[(long)tt * rows + r] = Dot.F32Vector256(w + (long)r * cols, x + (long)tt * cols, cols);
            }
            for (; t < tokens; t++)
                MatVec.F32RowsVector256(w, cols, x + (long)t * cols, y + (long)t * rows, tileStart, tileEnd);
        }
    }

    private static void Tile2x4(float* w, int rows, int cols, float* x, float* y, int r, int t)
    {
        float* w0 = w + (long)r * cols, w1 = w0 + cols;
        float* x0 = x + (long)t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        int vecEnd = cols & ~7;
        for (int c = 0; c < vecEnd; c += 8)
        {
            var wv0 = Vector256.Load(w0 + c);
            var wv1 = Vector256.Load(w1 + c);
            var xv = Vector256.Load(x0 + c);
            a00 = Vector256.MultiplyAddEstimate(wv0, xv, a00); a10 = Vector256.MultiplyAddEstimate(wv1, xv, a10);
            xv = Vector256.Load(x1 + c);
            a01 = Vector256.MultiplyAddEstimate(wv0, xv, a01); a11 = Vector256.MultiplyAddEstimate(wv1, xv, a11);
            xv = Vector256.Load(x2 + c);
            a02 = Vector256.MultiplyAddEstimate(wv0, xv, a02); a12 = Vector256.MultiplyAddEstimate(wv1, xv, a12);
            xv = Vector256.Load(x3 + c);
            a03 = Vector256.MultiplyAddEstimate(wv0, xv, a03); a13 = Vector256.MultiplyAddEstimate(wv1, xv, a13);
        }
        float s00 = Vector256.Sum(a00), s01 = Vector256.Sum(a01), s02 = Vector256.Sum(a02), s03 = Vector256.Sum(a03);
        float s10 = Vector256.Sum(a10), s11 = Vector256.Sum(a11), s12 = Vector256.Sum(a12), s13 = Vector256.Sum(a13);
        for (int c = vecEnd; c < cols; c++)
        {
            float u0 = w0[c], u1 = w1[c];
            s00 += u0 * x0[c]; s01 += u0 * x1[c]; s02 += u0 * x2[c]; s03 += u0 * x3[c];
            s10 += u1 * x0[c]; s11 += u1 * x1[c]; s12 += u1 * x2[c]; s13 += u1 * x3[c];
        }
        y[(long)t * rows + r] = s00; y[(long)(t + 1) * rows + r] = s01; y[(long)(t + 2) * rows + r] = s02; y[(long)(t + 3) * rows + r] = s03;
        y[(long)t * rows + r + 1] = s10; y[(long)(t + 1) * rows + r + 1] = s11; y[(long)(t + 2) * rows + r + 1] = s12; y[(long)(t + 3) * rows + r + 1] = s13;
    }

    /// <summary>Scalar twin: <c>Y[t,r] = Σ_c X[t,c]·W[r,c]</c> in double.</summary>
    internal static void ReferenceRows(float* w, int rows, int cols, float* x, int tokens, float* y, int rowStart, int rowEnd)
    {
        for (int t = 0; t < tokens; t++)
            for (int r = rowStart; r < rowEnd; r++)
                y[(long)t * rows + r] = Dot.Reference(w + (long)r * cols, x + (long)t * cols, cols);
    }
}
