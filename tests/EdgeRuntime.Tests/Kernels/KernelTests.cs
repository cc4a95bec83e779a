using System.Runtime.Intrinsics;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Kernels;

/// <summary>Every vector path against its scalar twin, over lengths 0..256 and odd shapes (TensorPrimitives style).</summary>
public sealed unsafe class KernelTests(ITestOutputHelper output)
{
    private static float[] RandomArray(Random rng, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>|expected − actual| ≤ relTol·max|expected| + absFloor at every index (fla assert_close style, no signed sums).</summary>
    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double relTol, string what, double absFloor = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxRef = 1e-6;
        foreach (float e in expected) maxRef = Math.Max(maxRef, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs((double)expected[i] - actual[i]);
            Assert.True(err <= relTol * maxRef + absFloor, $"{what}: index {i}: expected {expected[i]}, got {actual[i]} (|err| {err:E2} > {relTol:E1}·{maxRef:E2} + {absFloor:E1})");
        }
    }

    [Fact]
    public void Dot_EveryPath_MatchesReference_ForLengths0To256()
    {
        var rng = new Random(42);
        for (int n = 0; n <= 256; n++)
        {
            var a = RandomArray(rng, n);
            var b = RandomArray(rng, n);
            fixed (float* pa = a, pb = b)
            {
                float expected = Dot.Reference(pa, pb, n);
                double tol = 1e-5 * Math.Max(1, Math.Sqrt(n));
                Assert.True(Math.Abs(Dot.F32(pa, pb, n) - expected) <= tol, $"dispatch n={n}");
                if (Vector128.IsHardwareAccelerated) Assert.True(Math.Abs(Dot.F32Vector128(pa, pb, n) - expected) <= tol, $"v128 n={n}");
                if (Vector256.IsHardwareAccelerated) Assert.True(Math.Abs(Dot.F32Vector256(pa, pb, n) - expected) <= tol, $"v256 n={n}");
                if (Vector512.IsHardwareAccelerated) Assert.True(Math.Abs(Dot.F32Vector512(pa, pb, n) - expected) <= tol, $"v512 n={n}");
            }
        }
        if (!Vector512.IsHardwareAccelerated) output.WriteLine("Vector512 path not tested: Vector512 is not hardware-accelerated on this CPU.");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(4, 8)]
    [InlineData(5, 17)]
    [InlineData(33, 64)]
    [InlineData(67, 129)]
    [InlineData(128, 256)]
    [InlineData(13, 255)]
    public void MatVec_EveryPath_MatchesReference_OnOddShapes(int rows, int cols)
    {
        var rng = new Random(rows * 1000 + cols);
        var w = RandomArray(rng, rows * cols);
        var x = RandomArray(rng, cols);
        var expected = new float[rows];
        var actual = new float[rows];
        fixed (float* pw = w, px = x, pe = expected, pa = actual)
        {
            MatVec.ReferenceRows(pw, cols, px, pe, 0, rows);
            MatVec.F32Rows(pw, cols, px, pa, 0, rows);
            AssertClose(expected, actual, 1e-5, "dispatch");
            if (Vector128.IsHardwareAccelerated)
            {
                Array.Clear(actual);
                MatVec.F32RowsVector128(pw, cols, px, pa, 0, rows);
                AssertClose(expected, actual, 1e-5, "v128");
            }
            if (Vector256.IsHardwareAccelerated)
            {
                Array.Clear(actual);
                MatVec.F32RowsVector256(pw, cols, px, pa, 0, rows);
                AssertClose(expected, actual, 1e-5, "v256");
            }
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 9, 3)]
    [InlineData(7, 33, 4)]
    [InlineData(64, 128, 9)]
    [InlineData(130, 96, 65)]
    [InlineData(3, 1100, 6)]
    public void MatMul_MatchesReference_AndLinearSplitsRowsAcrossWorkers(int rows, int cols, int tokens)
    {
        var rng = new Random(rows + 7 * cols + 31 * tokens);
        var w = RandomArray(rng, rows * cols);
        var x = RandomArray(rng, tokens * cols);
        var bias = RandomArray(rng, rows);
        var expected = new float[tokens * rows];
        var actual = new float[tokens * rows];
        fixed (float* pw = w, px = x, pe = expected, pa = actual)
        {
            MatMul.ReferenceRows(pw, rows, cols, px, tokens, pe, 0, rows);
            MatMul.F32Rows(pw, rows, cols, px, tokens, pa, 0, rows);
            AssertClose(expected, actual, 1e-5, "matmul");

            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++) expected[t * rows + r] += bias[r];
            var matrix = new WeightMatrix("w", DType.F32, rows, cols, pw);
            using var pool = new WorkerPool(3);
            Array.Clear(actual);
            Linear.Forward(pool, matrix, bias, x, actual, tokens);
            AssertClose(expected, actual, 1e-5, "linear (3 workers)");
            // Big enough to cross the parallel threshold with one token, too.
            var y1 = new float[rows];
            Linear.Forward(pool, matrix, bias, x.AsSpan(0, cols), y1);
            AssertClose(expected.AsSpan(0, rows), y1, 1e-5, "linear decode");
        }
    }

    [Fact]
    public void Norms_MatchReference_ForLengths1To256()
    {
        var rng = new Random(42);
        for (int n = 1; n <= 256; n++)
        {
            var x = RandomArray(rng, n, 3f);
            var w = RandomArray(rng, n);
            var b = RandomArray(rng, n);
            var expected = new float[n];
            var actual = new float[n];
            RmsNorm.Reference(x, w, 1e-5f, expected);
            RmsNorm.Forward(x, w, 1e-5f, actual);
            AssertClose(expected, actual, 1e-5, $"rmsnorm n={n}");
            RmsNorm.Reference(x, [], 1e-6f, expected);
            RmsNorm.ForwardSimple(x, 1e-6f, actual);
            AssertClose(expected, actual, 1e-5, $"srmsnorm n={n}");
            LayerNorm.Reference(x, w, b, 1e-5f, expected);
            LayerNorm.Forward(x, w, b, 1e-5f, actual);
            AssertClose(expected, actual, 1e-5, $"layernorm n={n}");
        }
    }

    [Fact]
    public void Activations_MatchReference_ForLengths0To256()
    {
        var rng = new Random(42);
        for (int n = 0; n <= 256; n++)
        {
            var x = RandomArray(rng, n, 6f);
            var expected = new float[n];
            var actual = new float[n];
            Activations.GeluReference(x, expected);
            Activations.Gelu(x, actual);
            AssertClose(expected, actual, 2e-6, $"gelu n={n}");
            Activations.SiluReference(x, expected);
            Activations.Silu(x, actual);
            AssertClose(expected, actual, 2e-6, $"silu n={n}");
            var inPlace = (float[])x.Clone();
            Activations.SiluInPlace(inPlace);
            AssertClose(expected, inPlace, 2e-6, $"silu in place n={n}");
            inPlace = (float[])x.Clone();
            Activations.Silu(inPlace, inPlace);
            AssertClose(expected, inPlace, 2e-6, $"silu aliased n={n}");
            // SwiGLU a·silu(g) against a double reference, then with the destination aliasing the gate.
            var a = RandomArray(rng, n, 2f);
            var swiglu = new float[n];
            for (int i = 0; i < n; i++) expected[i] = (float)(a[i] * (x[i] / (1.0 + Math.Exp(-x[i]))));
            Activations.SwiGlu(a, x, swiglu);
            AssertClose(expected, swiglu, 2e-6, $"swiglu n={n}");
            var gate = (float[])x.Clone();
            Activations.SwiGlu(a, gate, gate);
            AssertClose(expected, gate, 2e-6, $"swiglu aliased n={n}");
            Softmax.Reference(x, expected);
            Softmax.Forward(x, actual);
            AssertClose(expected, actual, 1e-5, $"softmax n={n}");
        }
    }

    [Fact]
    public void Gelu_EveryVectorWidth_MatchesReference()
    {
        var rng = new Random(7);
        var x = RandomArray(rng, 64, 6f);
        var expected = new float[64];
        Activations.GeluReference(x, expected);
        var actual = new float[64];
        fixed (float* px = x, pa = actual)
        {
            if (Vector128.IsHardwareAccelerated)
            {
                for (int i = 0; i < 64; i += 4) Activations.GeluVector128(Vector128.Load(px + i)).Store(pa + i);
                AssertClose(expected, actual, 2e-6, "gelu v128");
            }
            if (Vector256.IsHardwareAccelerated)
            {
                for (int i = 0; i < 64; i += 8) Activations.GeluVector256(Vector256.Load(px + i)).Store(pa + i);
                AssertClose(expected, actual, 2e-6, "gelu v256");
            }
        }
    }

    [Fact]
    public void Erf_MatchesKnownValues()
    {
        // Values of erf from Abramowitz & Stegun table 7.1 (independent of the implementation).
        (double x, double erf)[] table = [(0.0, 0.0), (0.1, 0.1124629160), (0.5, 0.5204998778), (1.0, 0.8427007929), (2.0, 0.9953222650), (-1.0, -0.8427007929)];
        foreach (var (x, erf) in table) Assert.True(Math.Abs(Activations.Erf(x) - erf) < 2e-7, $"erf({x})");
    }

    [Fact]
    public void Softmax_StaysFinite_ForScoresInTheHundreds()
    {
        float[] x = [900f, 899f, -400f, 850f];
        var y = new float[4];
        Softmax.Forward(x, y);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1.0, y.Sum(), 5);
        Assert.True(Math.Abs(y[0] - 1 / (1 + Math.Exp(-1))) < 1e-6);
    }

    [Fact]
    public void Rotary_RotatesPairsByPositionTimesFrequency()
    {
        const int d = 8;
        var head = new float[d];
        for (int i = 0; i < d; i++) head[i] = i + 1;
        var cos = new float[d / 2];
        var sin = new float[d / 2];
        Rotary.Angles(5, d, 10000, cos, sin);
        var rotated = (float[])head.Clone();
        Rotary.ApplyNeoX(rotated, cos, sin);
        for (int i = 0; i < d / 2; i++)
        {
            double theta = 5 * Math.Pow(10000, -2.0 * i / d);
            Assert.Equal(head[i] * Math.Cos(theta) - head[i + d / 2] * Math.Sin(theta), rotated[i], 5);
            Assert.Equal(head[i + d / 2] * Math.Cos(theta) + head[i] * Math.Sin(theta), rotated[i + d / 2], 5);
        }
    }
}
