using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using Xunit.Abstractions;
using static EdgeRuntime.Tests.Kernels.QuantKernelTestData;

namespace EdgeRuntime.Tests.Kernels;

public unsafe class MatVecQ8_0Tests(ITestOutputHelper output)
{
    private delegate void RowsKernel(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd);

    private static RowsKernel Kernel(string path) => path switch
    {
        "AvxVnni" => MatVecQ8_0.RowsAvxVnni,
        "Avx2" => MatVecQ8_0.RowsAvx2,
        "Dp" => MatVecQ8_0.RowsDp,
        "AdvSimd" => MatVecQ8_0.RowsAdvSimd,
        _ => MatVecQ8_0.RowsReference,
    };

    [Theory]
    [InlineData(1, 32)]
    [InlineData(3, 64)]
    [InlineData(7, 96)]
    [InlineData(33, 288)]
    [InlineData(65, 1024)]
    public void EveryPath_MatchesScalarReference_OnRandomData(int rows, int cols)
    {
        output.WriteLine($"dispatcher path: {MatVecQ8_0.PathName}");
        var rng = new Random(42 + rows);
        int blocks = cols / 32;
        var wf = Gaussian(rng, rows * cols, 0.05);
        // Extreme codes from a foreign file: -128 is a legal weight byte the AVX2 sign trick must handle.
        var w = new BlockQ8_0[rows * blocks];
        BlockQ8_0.Quantize(wf, w);
        w[0].Qs[0] = -128;
        w[rows * blocks - 1].Qs[31] = -128;
        var x = Gaussian(rng, cols, 2.0);
        var xq = new BlockQ8_0[blocks];
        var xd = new float[blocks];
        var expected = new float[rows];
        fixed (BlockQ8_0* pw = w, pxq = xq)
        fixed (float* px = x, pxd = xd, pe = expected)
        {
            BlockQ8_0.QuantizeRow(px, pxq, pxd, blocks);
            MatVecQ8_0.RowsReference(pw, blocks, pxq, pxd, pe, 0, rows);
            foreach (var (name, supported, why) in Paths)
            {
                if (!supported)
                {
                    output.WriteLine($"skipped {name}: {why}");
                    continue;
                }
                var actual = new float[rows + 2];
                actual[0] = actual[rows + 1] = 12345f;  // guards: only [rowStart, rowEnd) may be written
                fixed (float* pa = actual)
                {
                    // Odd split: rows [0, k) then [k, rows), as two workers would.
                    int k = rows / 2 + (rows & 1);
                    Kernel(name)(pw, blocks, pxq, pxd, pa + 1, 0, k);
                    Kernel(name)(pw, blocks, pxq, pxd, pa + 1, k, rows);
                }
                Assert.Equal(12345f, actual[0]);
                Assert.Equal(12345f, actual[rows + 1]);
                for (int r = 0; r < rows; r++)
                {
                    BlockQ8_0* row = pw + (long)r * blocks;
                    double magnitude = AbsTermSum((b, j) => row[b].Qs[j], b => (double)row[b].D, pxq, blocks);
                    // Integer block sums are exact; only the f32 accumulation order differs: n·eps·Σ|terms| with
                    // n = blocks + 8 lanes, eps = 2^-23 (two roundings per term at most).
                    double tol = (blocks + 8) * 2 * 1.2e-7 * magnitude + 1e-30;
                    double err = Math.Abs(actual[r + 1] - (double)expected[r]);
                    Assert.True(err <= tol, $"{name}: row {r} expected {expected[r]}, got {actual[r + 1]} (|err| {err} > {tol})");
                }
                output.WriteLine($"tested {name}: {rows}x{cols}");
            }
        }
    }

    private delegate void FourTokenKernel(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, long yStride, int rowStart, int rowEnd);

    [Fact]
    public void FourTokenKernels_MatchScalarReferencePerToken_OnOddRowRange()
    {
        var kernels = new (string Name, bool Supported, FourTokenKernel Kernel)[]
        {
            ("X86 (Avx2/AvxVnni)", System.Runtime.Intrinsics.X86.Avx2.IsSupported, MatVecQ8_0.Rows4TokensX86),
            ("Dp", System.Runtime.Intrinsics.Arm.Dp.IsSupported, MatVecQ8_0.Rows4TokensDp),
        };
        const int rows = 37, cols = 288, blocks = cols / 32, rowStart = 3, rowEnd = 34;
        var rng = new Random(9);
        var w = new BlockQ8_0[rows * blocks];
        BlockQ8_0.Quantize(Gaussian(rng, rows * cols, 0.05), w);
        var x = Gaussian(rng, 4 * cols, 2.0);
        var xq = new BlockQ8_0[4 * blocks];
        var xd = new float[4 * blocks];
        var expected = new float[4 * rows];
        fixed (BlockQ8_0* pw = w)
        fixed (BlockQ8_0* pxq = xq)
        fixed (float* px = x, pxd = xd, pe = expected)
        {
            for (int t = 0; t < 4; t++)
            {
                BlockQ8_0.QuantizeRow(px + t * cols, pxq + t * blocks, pxd + t * blocks, blocks);
                MatVecQ8_0.RowsReference(pw, blocks, pxq + t * blocks, pxd + t * blocks, pe + t * rows, rowStart, rowEnd);
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
        var w = new BlockQ8_0[rows * blocks];
        BlockQ8_0.Quantize(Gaussian(rng, rows * cols), w);
        var x = Gaussian(rng, cols);
        var xq = new BlockQ8_0[blocks];
        var xd = new float[blocks];
        var y = new float[rows];
        fixed (BlockQ8_0* pw = w, pxq = xq)
        fixed (float* px = x, pxd = xd, py = y)
        {
            BlockQ8_0.QuantizeRow(px, pxq, pxd, blocks);
            MatVecQ8_0.RowsReference(pw, blocks, pxq, pxd, py, 0, rows);
            for (int r = 0; r < rows; r++)
            {
                double sum = 0;
                for (int b = 0; b < blocks; b++)
                {
                    long sumi = 0;
                    for (int j = 0; j < 32; j++) sumi += w[r * blocks + b].Qs[j] * xq[b].Qs[j];
                    sum += sumi * (double)w[r * blocks + b].D * (double)xq[b].D;
                }
                Assert.True(Math.Abs(sum - y[r]) <= 1e-5 * Math.Abs(sum) + 1e-6, $"row {r}: expected {sum}, got {y[r]}");
            }
        }
    }

    [Fact]
    public void DotError_IsBelowGgmlBound_OnGgmlTestData()
    {
        // ggml tests/test-quantize-fns.cpp: |vec_dot(q(a), q8(b)) - a·b| / n < MAX_DOT_PRODUCT_ERROR = 0.02.
        const int n = 32 * 128;
        var a = Quant.QuantBlockTests.GgmlTestData(0f, n);
        var b = Quant.QuantBlockTests.GgmlTestData(1f, n);
        float result = MatVecOne(DType.Q8_0, a, b);
        double exact = 0;
        for (int i = 0; i < n; i++) exact += a[i] * (double)b[i];
        double error = Math.Abs(result - exact) / n;
        Assert.True(error < 0.02, $"q8_0 dot error {error} >= 0.02 (exact {exact}, got {result})");
    }

    [Fact]
    public void MatVec_IsCloseToExactF32_OnGaussianData()
    {
        // Tolerance (normalized MSE over the output vector): Q8_0 rounding noise is uniform with variance d²/12 per element,
        // d = amax/127 ≈ 2.5σ/127 for Gaussian blocks of 32, i.e. relative variance ≈ 3.2e-5 for the weights and the same
        // for the activation: NMSE ≈ 6.5e-5. Bound 2e-4 leaves 3x margin (ggml test-backend-ops uses 5e-4 for mul_mat).
        Assert.True(QuantizedNmse(DType.Q8_0, rows: 64, cols: 512) < 2e-4);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(37)]
    public void LinearForward_MatchesPerTokenReference_ForDecodeAndPrefill(int tokens)
    {
        QuantLinearCheck.Run(DType.Q8_0, rows: 70, cols: 256, tokens, output);
    }

    internal static float MatVecOne(DType type, float[] weights, float[] x)
    {
        var bytes = new byte[QuantTraits.Get(type).RowBytes(weights.Length)];
        Quantization.Quantize(type, weights, bytes);
        var y = new float[1];
        fixed (byte* pw = bytes)
        fixed (float* px = x, py = y)
        {
            var m = new WeightMatrix("w", type, 1, weights.Length, pw);
            MatVec.Rows(m, px, py, 0, 1);
        }
        return y[0];
    }

    internal static double QuantizedNmse(DType type, int rows, int cols)
    {
        var rng = new Random(42);
        var w = Gaussian(rng, rows * cols);
        var x = Gaussian(rng, cols);
        var bytes = new byte[QuantTraits.Get(type).RowBytes(w.Length)];
        Quantization.Quantize(type, w, bytes);
        var y = new float[rows];
        fixed (byte* pw = bytes)
        {
            var m = new WeightMatrix("w", type, rows, cols, pw);
            Linear.Forward(WorkerPool.Single, m, [], x, y);
        }
        double num = 0, den = 0;
        for (int r = 0; r < rows; r++)
        {
            double exact = 0;
            for (int c = 0; c < cols; c++) exact += w[r * cols + c] * (double)x[c];
            num += (y[r] - exact) * (y[r] - exact);
            den += exact * exact;
        }
        return num / den;
    }
}

/// <summary>Linear.Forward over a quantized WeightMatrix (mat-vec and the registered prefill kernel, one and several
/// workers) against per-token scalar reference rows.</summary>
internal static unsafe class QuantLinearCheck
{
    public static void Run(DType type, int rows, int cols, int tokens, ITestOutputHelper output)
    {
        var rng = new Random(42 + tokens);
        var w = Gaussian(rng, rows * cols, 0.1);
        var x = Gaussian(rng, tokens * cols);
        var bytes = new byte[QuantTraits.Get(type).RowBytes(w.Length)];
        Quantization.Quantize(type, w, bytes);
        int blocks = cols / 32;
        var expected = new float[tokens * rows];
        var xq = new BlockQ8_0[blocks];
        var xd = new float[blocks];
        fixed (byte* pw = bytes)
        fixed (float* px = x, pe = expected, pxd = xd)
        fixed (BlockQ8_0* pxq = xq)
        {
            for (int t = 0; t < tokens; t++)
            {
                BlockQ8_0.QuantizeRow(px + t * cols, pxq, pxd, blocks);
                if (type == DType.Q8_0) MatVecQ8_0.RowsReference((BlockQ8_0*)pw, blocks, pxq, pxd, pe + t * rows, 0, rows);
                else MatVecQ4_0.RowsReference((BlockQ4_0*)pw, blocks, pxq, pxd, pe + t * rows, 0, rows);
            }
            var m = new WeightMatrix("w", type, rows, cols, pw);
            foreach (int threads in new[] { 1, 3 })
            {
                using var pool = threads == 1 ? null : new WorkerPool(threads);
                var y = new float[tokens * rows];
                Linear.Forward(pool ?? WorkerPool.Single, m, [], x, y, tokens);
                double maxErr = 0, maxRef = 0;
                int worst = 0;
                for (int i = 0; i < y.Length; i++)
                {
                    double e = Math.Abs(y[i] - (double)expected[i]);
                    if (e > maxErr) { maxErr = e; worst = i; }
                    maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
                }
                output.WriteLine($"{type} tokens={tokens} threads={threads} path={MatVecQ8_0.PathName}: max|err|/max|ref| = {maxErr / maxRef:E2}");
                Assert.True(maxErr <= 1e-5 * maxRef, $"{type}: index {worst} expected {expected[worst]}, got {y[worst]}");
            }
        }
    }
}
