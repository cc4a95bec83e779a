using System.Runtime.Intrinsics;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Core.Kernels;

/// <summary>Matrix-vector product <c>y = W·x</c> for f32 weights, four rows (from four quarters of the range) per pass so
/// each load of x serves four rows and the weights stream as four long sequential reads.</summary>
/// <remarks>
/// <c>W</c> is row-major <c>(rows, cols)</c>. Callers split rows across workers (<see cref="Linear"/>); this type trusts its inputs.
/// Stateless; safe from any thread.
/// </remarks>
public static unsafe class MatVec
{
    /// <summary>Computes rows <c>[rowStart, rowEnd)</c> of <c>y = W·x</c>.</summary>
    public static void F32Rows(float* w, int cols, float* x, float* y, int rowStart, int rowEnd)
    {
        if (Vector256.IsHardwareAccelerated && cols >= 8) F32RowsVector256(w, cols, x, y, rowStart, rowEnd);
        else if (Vector128.IsHardwareAccelerated && cols >= 4) F32RowsVector128(w, cols, x, y, rowStart, rowEnd);
        else ReferenceRows(w, cols, x, y, rowStart, rowEnd);
    }

    /// <summary>Four rows per pass, taken one from each quarter of <c>[rowStart, rowEnd)</c>: every worker reads four long
    /// sequential streams at once (adjacent rows would restart the hardware prefetchers every row), and one load of x
    /// serves the four rows. The last <c>(rowEnd − rowStart) mod 4</c> rows go through <see cref="Dot"/>.</summary>
    internal static void F32RowsVector256(float* w, int cols, float* x, float* y, int rowStart, int rowEnd)
    {
        int quarter = (rowEnd - rowStart) / 4;
        int vecEnd = cols & ~7;
        for (int i = 0; i < quarter; i++)
        {
            int r0 = rowStart + i, r1 = r0 + quarter, r2 = r1 + quarter, r3 = r2 + quarter;
            float* w0 = w + (long)r0 * cols, w1 = w + (long)r1 * cols, w2 = w + (long)r2 * cols, w3 = w + (long)r3 * cols;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int c = 0; c < vecEnd; c += 8)
            {
                var xv = Vector256.Load(x + c);
                a0 = Vector256.MultiplyAddEstimate(Vector256.Load(w0 + c), xv, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.Load(w1 + c), xv, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.Load(w2 + c), xv, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.Load(w3 + c), xv, a3);
            }
            float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
            for (int c = vecEnd; c < cols; c++)
            {
                float xc = x[c];
                s0 += w0[c] * xc; s1 += w1[c] * xc; s2 += w2[c] * xc; s3 += w3[c] * xc;
            }
            y[r0] = s0; y[r1] = s1; y[r2] = s2; y[r3] = s3;
        }
        for (int r = rowStart + 4 * quarter; r < rowEnd; r++) y[r] = Dot.F32Vector256(w + (long)r * cols, x, cols);
    }

    /// <summary>The 128-bit form of <see cref="F32RowsVector256"/>.</summary>
    internal static void F32RowsVector128(float* w, int cols, float* x, float* y, int rowStart, int rowEnd)
    {
        int quarter = (rowEnd - rowStart) / 4;
        int vecEnd = cols & ~3;
        for (int i = 0; i < quarter; i++)
        {
            int r0 = rowStart + i, r1 = r0 + quarter, r2 = r1 + quarter, r3 = r2 + quarter;
            float* w0 = w + (long)r0 * cols, w1 = w + (long)r1 * cols, w2 = w + (long)r2 * cols, w3 = w + (long)r3 * cols;
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int c = 0; c < vecEnd; c += 4)
            {
                var xv = Vector128.Load(x + c);
                a0 = Vector128.MultiplyAddEstimate(Vector128.Load(w0 + c), xv, a0);
                a1 = Vector128.MultiplyAddEstimate(Vector128.Load(w1 + c), xv, a1);
                a2 = Vector128.MultiplyAddEstimate(Vector128.Load(w2 + c), xv, a2);
                a3 = Vector128.MultiplyAddEstimate(Vector128.Load(w3 + c), xv, a3);
            }
            float s0 = Vector128.Sum(a0), s1 = Vector128.Sum(a1), s2 = Vector128.Sum(a2), s3 = Vector128.Sum(a3);
            for (int c = vecEnd; c < cols; c++)
            {
                float xc = x[c];
                s0 += w0[c] * xc; s1 += w1[c] * xc; s2 += w2[c] * xc; s3 += w3[c] * xc;
            }
            y[r0] = s0; y[r1] = s1; y[r2] = s2; y[r3] = s3;
        }
        for (int r = rowStart + 4 * quarter; r < rowEnd; r++) y[r] = Dot.F32Vector128(w + (long)r * cols, x, cols);
    }

    /// <summary>Scalar twin: <c>y[r] = Σ_c W[r,c]·x[c]</c>, accumulated in double.</summary>
    internal static void ReferenceRows(float* w, int cols, float* x, float* y, int rowStart, int rowEnd)
    {
        for (int r = rowStart; r < rowEnd; r++) y[r] = Dot.Reference(w + (long)r * cols, x, cols);
    }

    /// <summary>Rows of <c>y = W·x</c> for any weight type: f32 directly, others through their registered row kernel.</summary>
    public static void Rows(WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        if (w.Type == DType.F32) F32Rows((float*)w.Data, w.Cols, x, y, rowStart, rowEnd);
        else MatVecRegistry.Rows(w, x, y, rowStart, rowEnd);
    }
}

/// <summary>Row kernels for non-f32 weight types, registered by the code that implements them (quantisation).</summary>
/// <remarks>Registration happens once at start-up.</remarks>
public static unsafe class MatVecRegistry
{
    private static readonly delegate*<WeightMatrix, float*, float*, int, int, void>[] s_kernels =
        new delegate*<WeightMatrix, float*, float*, int, int, void>[64];

    /// <summary>Registers the row kernel for <paramref name="type"/>.</summary>
    public static void Register(DType type, delegate*<WeightMatrix, float*, float*, int, int, void> kernel) => s_kernels[(int)type] = kernel;

    private static readonly delegate*<WeightMatrix, float*, int, float*, int, int, void>[] s_matMulKernels =
        new delegate*<WeightMatrix, float*, int, float*, int, int, void>[64];

    /// <summary>Registers a prefill kernel for <paramref name="type"/>: <c>(w, x, tokens, y, rowStart, rowEnd)</c> with the
    /// layout of <see cref="MatMul.Rows"/>. Optional: without one, prefill runs the row kernel once per token.</summary>
    public static void RegisterMatMul(DType type, delegate*<WeightMatrix, float*, int, float*, int, int, void> kernel) => s_matMulKernels[(int)type] = kernel;

    private static readonly delegate*<WeightMatrix, BlockQ8_0*, float*, float*, int, int, void>[] s_quantizedKernels =
        new delegate*<WeightMatrix, BlockQ8_0*, float*, float*, int, int, void>[64];

    /// <summary>Registers a row kernel for <paramref name="type"/> that takes the activation already quantized to Q8_0
    /// <c>(w, xq, xd, y, rowStart, rowEnd)</c> (<c>xd</c>: the blocks' scales as f32), so that <see cref="Linear"/> quantizes
    /// once per product instead of once per worker. Optional.</summary>
    public static void RegisterQuantized(DType type, delegate*<WeightMatrix, BlockQ8_0*, float*, float*, int, int, void> kernel) =>
        s_quantizedKernels[(int)type] = kernel;

    /// <summary>Whether <paramref name="type"/> has a kernel registered with <see cref="RegisterQuantized"/>.</summary>
    public static bool HasQuantizedKernel(DType type) => s_quantizedKernels[(int)type] != null;

    /// <summary>Runs the kernel registered with <see cref="RegisterQuantized"/> (the caller checked <see cref="HasQuantizedKernel"/>).</summary>
    public static void QuantizedRows(WeightMatrix w, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd) =>
        s_quantizedKernels[(int)w.Type](w, xq, xd, y, rowStart, rowEnd);

    /// <summary>Runs the registered prefill kernel, if any.</summary>
    public static bool TryMatMulRows(WeightMatrix w, float* x, int tokens, float* y, int rowStart, int rowEnd)
    {
        var k = s_matMulKernels[(int)w.Type];
        if (k == null) return false;
        k(w, x, tokens, y, rowStart, rowEnd);
        return true;
    }

    /// <summary>Runs the registered kernel.</summary>
    /// <exception cref="NotSupportedException">No kernel for the weight's type.</exception>
    public static void Rows(WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        var k = s_kernels[(int)w.Type];
        if (k == null) throw new NotSupportedException($"matvec: no kernel for {w.Type} weights ('{w.Name}')");
        k(w, x, y, rowStart, rowEnd);
    }
}
