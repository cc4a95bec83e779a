using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;
using Xunit.Abstractions;
using static EdgeRuntime.Tests.Kernels.QuantKernelTestData;

namespace EdgeRuntime.Tests.Kernels;

public unsafe class MatVecQ4_0Tests(ITestOutputHelper output)
{
    private delegate void RowsKernel(BlockQ4_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd);

    private static RowsKernel Kernel(string path) => path switch
    {
        "AvxVnni" => MatVecQ4_0.RowsAvxVnni,
        "Avx2" => MatVecQ4_0.RowsAvx2,
        "Dp" => MatVecQ4_0.RowsDp,
        "AdvSimd" => MatVecQ4_0.RowsAdvSimd,
        _ => MatVecQ4_0.RowsReference,
    };

    [Theory]
    [InlineData(1, 32)]
    [InlineData(3, 64)]
    [InlineData(7, 96)]
    [InlineData(33, 288)]
    [InlineData(65, 1024)]
    public void EveryPath_MatchesScalarReference_OnRandomData(int rows, int cols)
    {
        output.WriteLine($"dispatcher path: {MatVecQ4_0.PathName}");
        var rng = new Random(42 + rows);
        int blocks = cols / 32;
        var w = new BlockQ4_0[rows * blocks];
        BlockQ4_0.Quantize(Gaussian(rng, rows * cols, 0.05), w);
        // Every nibble value, including the extremes 0 (-8) and 15 (+7), in the first block.
        for (int j = 0; j < 16; j++) w[0].Qs[j] = (byte)(j | ((15 - j) << 4));
        var x = Gaussian(rng, cols, 2.0);
        var xq = new BlockQ8_0[blocks];
        var xd = new float[blocks];
        var expected = new float[rows];
        fixed (BlockQ4_0* pw = w)
        fixed (BlockQ8_0* pxq = xq)
        fixed (float* px = x, pxd = xd, pe = expected)
        {
            BlockQ8_0.QuantizeRow(px, pxq, pxd, blocks);
            MatVecQ4_0.RowsReference(pw, blocks, pxq, pxd, pe, 0, rows);
            foreach (var (name, supported, why) in Paths)
            {
                if (!supported)
                {
                    output.WriteLine($"skipped {name}: {why}");
                    continue;
                }
                var actual = new float[rows + 2];
                actual[0] = actual[rows + 1] = 12345f;
                fixed (float* pa = actual)
                {
                    int k = rows / 2 + (rows & 1);
                    Kernel(name)(pw, blocks, pxq, pxd, pa + 1, 0, k);
                    Kernel(name)(pw, blocks, pxq, pxd, pa + 1, k, rows);
                }
                Assert.Equal(12345f, actual[0]);
                Assert.Equal(12345f, actual[rows + 1]);
                for (int r = 0; r < rows; r++)
                {
                    BlockQ4_0* row = pw + (long)r * blocks;
                    double magnitude = AbsTermSum((b, j) => j < 16 ? (row[b].Qs[j] & 15) - 8 : (row[b].Qs[j - 16] >> 4) - 8,
                        b => (double)row[b].D, pxq, blocks);
                    double tol = (blocks + 8) * 3 * 1.2e-7 * magnitude + 1e-30;
                    double err = Math.Abs(actual[r + 1] - (double)expected[r]);
                    Assert.True(err <= tol, $"{name}: row {r} expected {expected[r]}, got {actual[r + 1]} (|err| {err} > {tol})");
                }
                output.WriteLine($"tested {name}: {rows}x{cols}");
            }
        }
    }

    private delegate void FourTokenKernel(BlockQ4_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, long yStride, int rowStart, int rowEnd);

    [Fact]
    public void FourTokenKernels_MatchScalarReferencePerToken_OnOddRowRange()
    {
        var kernels = new (string Name, bool Supported, FourTokenKernel Kernel)[]
        {
            ("X86 (Avx2/AvxVnni)", System.Runtime.Intrinsics.X86.Avx2.IsSupported, MatVecQ4_0.Rows4TokensX86),
            ("Dp", System.Runtime.Intrinsics.Arm.Dp.IsSupported, MatVecQ4_0.Rows4TokensDp),
        };
        const int rows = 37, cols = 288, blocks = cols / 32, rowStart = 3, rowEnd = 34;
        var rng = new Random(9);
        var w = new BlockQ4_0[rows * blocks];
        BlockQ4_0.Quantize(Gaussian(rng, rows * cols, 0.05), w);
        var x = Gaussian(rng, 4 * cols, 2.0);
        var xq = new BlockQ8_0[4 * blocks];
        var xd = new float[4 * blocks];
        var expected = new float[4 * rows];
        fixed (BlockQ4_0* pw = w)
        fixed (BlockQ8_0* pxq = xq)
        fixed (float* px = x, pxd = xd, pe = expected)
        {
            for (int t = 0; t < 4; t++)
            {
                BlockQ8_0.QuantizeRow(px + t * cols, pxq + t * blocks, pxd + t * blocks, blocks);
                MatVecQ4_0.RowsReference(pw, blocks, pxq + t * blocks, pxd + t * blocks, pe + t * rows, rowStart, rowEnd);
            }
            foreach (var (name, supported, kernel) in kernels)
            {
                if (!supported)
                {
                    output.WriteLine($"skipped {name}: not supported on this CPU");
                    continue;
                }
                var actual = new float[4 * rows];
                Array.Fill(actual, 12345f);
                fixed (float* pa = actual) kernel(pw, blocks, pxq, pxd, pa, rows, rowStart, rowEnd);
                for (int t = 0; t < 4; t++)
                    for (int r = 0; r < rows; r++)
                    {
                        float e = r >= rowStart && r < rowEnd ? expected[t * rows + r] : 12345f;
                        double tol = r >= rowStart && r < rowEnd ? 1e-5 * Math.Max(1, Math.Abs(e)) : 0;
                        Assert.True(Math.Abs(actual[t * rows + r] - e) <= tol, $"{name}: token {t} row {r} expected {e}, got {actual[t * rows + r]}");
                    }
                output.WriteLine($"tested {name}");
            }
        }
    }

    [Fact]
    public void Reference_EqualsIndependentIntegerOracle()
    {
        var rng = new Random(7);
        const int rows = 5, cols = 160, blocks = cols / 32;
        var w = new BlockQ4_0[rows * blocks];
        BlockQ4_0.Quantize(Gaussian(rng, rows * cols), w);
        var x = Gaussian(rng, cols);
        var xq = new BlockQ8_0[blocks];
        var xd = new float[blocks];
        var y = new float[rows];
        fixed (BlockQ4_0* pw = w)
        fixed (BlockQ8_0* pxq = xq)
        fixed (float* px = x, pxd = xd, py = y)
        {
            BlockQ8_0.QuantizeRow(px, pxq, pxd, blocks);
            MatVecQ4_0.RowsReference(pw, blocks, pxq, pxd, py, 0, rows);
            // Oracle through the public dequantizer: value_j = (code_j - 8)·d, then Σ value_j·xq_j·d_x in double.
            var deq = new float[rows * cols];
            BlockQ4_0.Dequantize(w, deq);
            for (int r = 0; r < rows; r++)
            {
                double sum = 0;
                for (int b = 0; b < blocks; b++)
                    for (int j = 0; j < 32; j++)
                        sum += deq[r * cols + b * 32 + j] * (double)xq[b].Qs[j] * (double)xq[b].D;
                Assert.True(Math.Abs(sum - y[r]) <= 1e-5 * Math.Abs(sum) + 1e-6, $"row {r}: expected {sum}, got {y[r]}");
            }
        }
    }

    [Fact]
    public void DotError_IsBelowGgmlBound_OnGgmlTestData()
    {
        // ggml tests/test-quantize-fns.cpp: |vec_dot(q4_0(a), q8_0(b)) - a·b| / n < MAX_DOT_PRODUCT_ERROR = 0.02.
        const int n = 32 * 128;
        var a = Quant.QuantBlockTests.GgmlTestData(0f, n);
        var b = Quant.QuantBlockTests.GgmlTestData(1f, n);
        float result = MatVecQ8_0Tests.MatVecOne(DType.Q4_0, a, b);
        double exact = 0;
        for (int i = 0; i < n; i++) exact += a[i] * (double)b[i];
        double error = Math.Abs(result - exact) / n;
        Assert.True(error < 0.02, $"q4_0 dot error {error} >= 0.02 (exact {exact}, got {result})");
    }

    [Fact]
    public void MatVec_IsCloseToExactF32_OnGaussianData()
    {
        // Q4_0 step |d| = amax/8 ≈ 2.5σ/8 for Gaussian blocks of 32: uniform rounding noise d²/12 gives relative variance
        // ≈ 8e-3 for the weights (the activation's Q8_0 noise, 3e-5, is negligible), so NMSE ≈ 8e-3. Bound 2e-2 (2.5x).
        Assert.True(MatVecQ8_0Tests.QuantizedNmse(DType.Q4_0, rows: 64, cols: 512) < 2e-2);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(37)]
    public void LinearForward_MatchesPerTokenReference_ForDecodeAndPrefill(int tokens)
    {
        QuantLinearCheck.Run(DType.Q4_0, rows: 70, cols: 256, tokens, output);
    }
}
