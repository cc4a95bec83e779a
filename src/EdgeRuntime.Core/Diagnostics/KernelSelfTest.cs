using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Text;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Core.Diagnostics;

/// <summary>One kernel path checked against its scalar reference.</summary>
/// <param name="Kernel">Kernel, e.g. <c>matvec q8_0</c>.</param>
/// <param name="Path">ISA path that ran, e.g. <c>Dp</c>, <c>AdvSimd</c>, <c>Avx2</c>, <c>Vector128</c>, <c>Scalar</c>.</param>
/// <param name="MaxError">Worst error over all cases, relative to the case's scale (Σ|terms| for sums, max(1, |reference|)
/// for elementwise results, differing bytes for exact encoders).</param>
/// <param name="Tolerance">Bound on <paramref name="MaxError"/> (for sums: the bound of the longest case).</param>
/// <param name="Pass">Every case within its bound and finite.</param>
/// <param name="Cases">Shapes checked, for the report.</param>
public sealed record KernelCheck(string Kernel, string Path, double MaxError, double Tolerance, bool Pass, string Cases)
{
    /// <summary>One report line: <c>matvec q8_0 [AdvSimd]   maxErr …  tol …  pass  shapes</c>.</summary>
    public string Format() => System.FormattableString.Invariant(
        $"{Kernel + " [" + Path + "]",-44} maxErr {MaxError,9:E2}  tol {Tolerance,9:E2}  {(Pass ? "pass" : "FAIL")}  {Cases}");
}

/// <summary>The result of <see cref="KernelSelfTest.Run"/>.</summary>
/// <param name="Checks">Every kernel path that this CPU can run, checked.</param>
/// <param name="Dispatch">The path each dispatcher picks in this process (kernel, path).</param>
/// <remarks>Immutable; safe to share.</remarks>
public sealed record KernelSelfTestReport(IReadOnlyList<KernelCheck> Checks, IReadOnlyList<(string Kernel, string Path)> Dispatch)
{
    /// <summary>Every check passed.</summary>
    public bool Pass => Checks.All(c => c.Pass);

    /// <summary>Human-readable report: CPU facts, one line per dispatcher (<c>dispatch matvec q8_0: Dp</c>) and one per
    /// check (<c>matvec q8_0 [AdvSimd] maxErr … tol … pass</c>), then <c>PASS</c> or <c>FAIL</c>.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"arch: {RuntimeInformation.ProcessArchitecture}, {RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} cpus");
        sb.AppendLine($"isa: AdvSimd={AdvSimd.IsSupported} Dp={Dp.IsSupported} Avx2={Avx2.IsSupported} AvxVnni={AvxVnni.IsSupported} Avx512F={Avx512F.IsSupported} " +
            $"Vector128={Vector128.IsHardwareAccelerated} Vector256={Vector256.IsHardwareAccelerated} Vector512={Vector512.IsHardwareAccelerated}");
        foreach (var (kernel, path) in Dispatch) sb.AppendLine($"dispatch {kernel}: {path}");
        foreach (var c in Checks) sb.AppendLine(c.Format());
        sb.AppendLine(Pass ? $"PASS ({Checks.Count} checks)" : $"FAIL ({Checks.Count(c => !c.Pass)} of {Checks.Count} checks)");
        return sb.ToString();
    }
}

/// <summary>Runs every vector and ISA-specific kernel path this CPU supports against its scalar reference on random data
/// with odd sizes (the start-up self-test of <c>edge-runtime selftest</c> and the arm64 check under qemu).</summary>
/// <remarks>
/// Covered: f32 dot (Vector512/256/128), f32 mat-vec (Vector256/128), f32 prefill mat-mul, activation quantization to Q8_0
/// (Vector256/128, byte-exact), Q8_0 and Q4_0 mat-vec (AVX-VNNI, AVX2, ARM dot product, NEON) and their four-token
/// prefill kernels, the dispatching prefill entry points, the fp16 scale decoder (all 65536 values), SiLU, SwiGLU, GELU,
/// RMSNorm, LayerNorm and softmax. Integer block sums are exact in every quantized path, so those bounds only allow for
/// f32 summation order: <c>(blocks + 8)·2·2⁻²³·Σ|terms|</c>, as in the unit tests. Stateless; safe from any thread
/// (allocates its test data).
/// </remarks>
public static unsafe class KernelSelfTest
{
    private const double Eps = 1.1920929e-7; // 2^-23
    private static readonly int[] s_lengths = [1, 3, 7, 15, 17, 31, 33, 100, 257, 1023];
    private static readonly (int Rows, int Blocks)[] s_quantShapes = [(1, 1), (3, 3), (7, 9), (33, 4), (13, 32)];

    /// <summary>Runs all checks with data from <c>new Random(<paramref name="seed"/>)</c>.</summary>
    public static KernelSelfTestReport Run(int seed = 42)
    {
        Quantization.Register();
        var checks = new List<KernelCheck>();
        var rng = new Random(seed);
        CheckDot(rng, checks);
        CheckMatVecF32(rng, checks);
        CheckMatMulF32(rng, checks);
        CheckActivationQuantization(rng, checks);
        CheckFp16Scale(checks);
        CheckQuantMatVec(rng, checks, q4: false);
        CheckQuantMatVec(rng, checks, q4: true);
        CheckElementwise(rng, checks);
        var dispatch = new List<(string, string)>
        {
            ("dot f32", Dot.PathName),
            ("matvec f32", Vector256.IsHardwareAccelerated ? "Vector256" : Vector128.IsHardwareAccelerated ? "Vector128" : "Scalar"),
            ("matmul f32", Vector256.IsHardwareAccelerated ? "Vector256" : Vector128.IsHardwareAccelerated ? "Vector128 (mat-vec per token)" : "Scalar"),
            ("matvec q8_0", MatVecQ8_0.PathName),
            ("matvec q4_0", MatVecQ4_0.PathName),
            ("dot q8_0", MatVecQ8_0.PathName), // the block dot product inside each q8_0 row
            ("dot q4_0", MatVecQ4_0.PathName),
            ("prefill q8_0/q4_0 4-token", Avx2.IsSupported ? "X86" : Dp.IsSupported ? "Dp" : "none (one token at a time)"),
        };
        return new KernelSelfTestReport(checks, dispatch);
    }

    private static void CheckDot(Random rng, List<KernelCheck> checks)
    {
        foreach (var (name, supported) in VectorWidths(512))
        {
            if (!supported) continue;
            var acc = new Accumulator("dot f32", name);
            foreach (int n in s_lengths)
            {
                var a = Random(rng, n);
                var b = Random(rng, n);
                fixed (float* pa = a, pb = b)
                {
                    double exact = 0, scale = 0;
                    for (int i = 0; i < n; i++) { exact += (double)a[i] * b[i]; scale += Math.Abs((double)a[i] * b[i]); }
                    float actual = name switch
                    {
                        "Vector512" => Dot.F32Vector512(pa, pb, n),
                        "Vector256" => Dot.F32Vector256(pa, pb, n),
                        _ => Dot.F32Vector128(pa, pb, n),
                    };
                    acc.Add(Math.Abs(actual - exact), scale, (n + 16) * 2 * Eps);
                }
            }
            checks.Add(acc.Result($"n = {string.Join(",", s_lengths)}"));
        }
    }

    private static void CheckMatVecF32(Random rng, List<KernelCheck> checks)
    {
        (int Rows, int Cols)[] shapes = [(1, 1), (3, 5), (5, 17), (7, 33), (13, 130), (9, 1023)];
        foreach (var (name, supported) in VectorWidths(256))
        {
            if (!supported) continue;
            var acc = new Accumulator("matvec f32", name);
            foreach (var (rows, cols) in shapes)
            {
                var w = Random(rng, rows * cols);
                var x = Random(rng, cols);
                var y = new float[rows];
                fixed (float* pw = w, px = x, py = y)
                {
                    int split = Math.Min(rows / 2 + 1, rows); // two row ranges, as two workers would call it
                    if (name == "Vector256")
                    {
                        MatVec.F32RowsVector256(pw, cols, px, py, 0, split);
                        MatVec.F32RowsVector256(pw, cols, px, py, split, rows);
                    }
                    else
                    {
                        MatVec.F32RowsVector128(pw, cols, px, py, 0, split);
                        MatVec.F32RowsVector128(pw, cols, px, py, split, rows);
                    }
                }
                for (int r = 0; r < rows; r++)
                {
                    var (exact, scale) = DotExact(w.AsSpan(r * cols, cols), x);
                    acc.Add(Math.Abs(y[r] - exact), scale, (cols + 16) * 2 * Eps);
                }
            }
            checks.Add(acc.Result(Shapes(shapes)));
        }
    }

    private static void CheckMatMulF32(Random rng, List<KernelCheck> checks)
    {
        var acc = new Accumulator("matmul f32", Vector256.IsHardwareAccelerated ? "Vector256" : Vector128.IsHardwareAccelerated ? "Vector128 (mat-vec per token)" : "Scalar");
        (int Rows, int Cols, int Tokens)[] shapes = [(1, 1, 1), (3, 9, 5), (7, 33, 4), (13, 130, 9)];
        foreach (var (rows, cols, tokens) in shapes)
        {
            var w = Random(rng, rows * cols);
            var x = Random(rng, tokens * cols);
            var y = new float[tokens * rows];
            fixed (float* pw = w, px = x, py = y) MatMul.F32Rows(pw, rows, cols, px, tokens, py, 0, rows);
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++)
                {
                    var (exact, scale) = DotExact(w.AsSpan(r * cols, cols), x.AsSpan(t * cols, cols));
                    acc.Add(Math.Abs(y[t * rows + r] - exact), scale, (cols + 16) * 2 * Eps);
                }
        }
        checks.Add(acc.Result(string.Join(",", shapes.Select(s => $"{s.Rows}x{s.Cols}x{s.Tokens}t"))));
    }

    private static void CheckActivationQuantization(Random rng, List<KernelCheck> checks)
    {
        foreach (var (name, supported) in VectorWidths(256))
        {
            if (!supported) continue;
            int differing = 0;
            foreach (int blocks in new[] { 1, 3, 9, 33 })
            {
                var x = Random(rng, blocks * 32, 3.0);
                x[0] = 0.5f * x[1]; // values at .5 steps exercise round-half-away-from-zero
                var expected = new BlockQ8_0[blocks];
                var actual = new BlockQ8_0[blocks];
                fixed (float* px = x)
                fixed (BlockQ8_0* pe = expected, pa = actual)
                {
                    BlockQ8_0.QuantizeReference(px, pe, blocks);
                    if (name == "Vector256") BlockQ8_0.QuantizeRowVector256(px, pa, blocks);
                    else BlockQ8_0.QuantizeRowVector128(px, pa, blocks);
                }
                var eb = MemoryMarshal.AsBytes<BlockQ8_0>(expected);
                var ab = MemoryMarshal.AsBytes<BlockQ8_0>(actual);
                for (int i = 0; i < eb.Length; i++) if (eb[i] != ab[i]) differing++;
            }
            checks.Add(new KernelCheck("quantize activation q8_0", name, differing, 0, differing == 0, "blocks = 1,3,9,33; byte-exact"));
        }
    }

    private static void CheckFp16Scale(List<KernelCheck> checks)
    {
        int differing = 0;
        ushort bits = 0;
        do
        {
            float expected = (float)BitConverter.UInt16BitsToHalf(bits);
            float actual = Fp16.ToSingle(bits);
            if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(actual) && !(float.IsNaN(expected) && float.IsNaN(actual))) differing++;
        }
        while (++bits != 0);
        checks.Add(new KernelCheck("fp16 scale decode", "Scalar", differing, 0, differing == 0, "all 65536 values"));
    }

    private static void CheckQuantMatVec(Random rng, List<KernelCheck> checks, bool q4)
    {
        string type = q4 ? "q4_0" : "q8_0";
        int blockBytes = q4 ? BlockQ4_0.ByteSize : BlockQ8_0.ByteSize;
        (string Name, bool Supported)[] rowPaths =
            [("AvxVnni", AvxVnni.IsSupported), ("Avx2", Avx2.IsSupported), ("Dp", Dp.IsSupported), ("AdvSimd", AdvSimd.IsSupported)];
        var perPath = rowPaths.Where(p => p.Supported).ToDictionary(p => p.Name, p => new Accumulator($"matvec {type}", p.Name));
        var prefill4 = Avx2.IsSupported ? new Accumulator($"prefill4 {type}", AvxVnni.IsSupported ? "AvxVnni" : "Avx2")
            : Dp.IsSupported ? new Accumulator($"prefill4 {type}", "Dp") : null;
        var decode = new Accumulator($"matvec {type} (dispatch)", MatVecQ8_0.PathName);
        var entry = new Accumulator($"prefill {type} (dispatch)", MatVecQ8_0.PathName);
        foreach (var (rows, blocks) in s_quantShapes)
        {
            int cols = blocks * 32;
            var weights = new byte[rows * blocks * blockBytes];
            var wf = Random(rng, rows * cols, 0.05);
            if (q4) BlockQ4_0.Quantize(wf, MemoryMarshal.Cast<byte, BlockQ4_0>(weights.AsSpan()));
            else
            {
                var wb = MemoryMarshal.Cast<byte, BlockQ8_0>(weights.AsSpan());
                BlockQ8_0.Quantize(wf, wb);
                wb[0].Qs[0] = -128; // a legal byte of a foreign file that the AVX2 sign trick must handle
                wb[^1].Qs[31] = -128;
            }
            const int tokens = 7; // one four-token tile and three single tokens
            var x = Random(rng, tokens * cols, 2.0);
            var xq = new BlockQ8_0[tokens * blocks];
            var xd = new float[tokens * blocks];
            var expected = new float[tokens * rows];
            var magnitude = new double[tokens * rows];
            fixed (byte* pw = weights)
            fixed (float* px = x, pxd = xd, pe = expected)
            fixed (BlockQ8_0* pxq = xq)
            {
                BlockQ8_0.QuantizeReference(px, pxq, tokens * blocks);
                for (int i = 0; i < xd.Length; i++) pxd[i] = (float)pxq[i].D;
                for (int t = 0; t < tokens; t++)
                {
                    Reference(q4, pw, blocks, pxq + t * blocks, pxd + t * blocks, pe + t * rows, rows);
                    for (int r = 0; r < rows; r++) magnitude[t * rows + r] = AbsTermSum(q4, pw + (long)r * blocks * blockBytes, pxq + t * blocks, blocks);
                }
                double bound = (blocks + 8) * 2 * Eps;
                foreach (var (name, acc) in perPath)
                {
                    var y = new float[rows];
                    fixed (float* py = y)
                        for (int t = 0; t < tokens; t++)
                        {
                            int split = rows / 2 + 1;
                            Rows(q4, name, pw, blocks, pxq + t * blocks, pxd + t * blocks, py, 0, Math.Min(split, rows));
                            Rows(q4, name, pw, blocks, pxq + t * blocks, pxd + t * blocks, py, Math.Min(split, rows), rows);
                            for (int r = 0; r < rows; r++) acc.Add(Math.Abs(y[r] - (double)pe[t * rows + r]), magnitude[t * rows + r], bound);
                        }
                }
                if (prefill4 is not null)
                {
                    var y = new float[4 * rows];
                    fixed (float* py = y) Rows4(q4, pw, blocks, pxq, pxd, py, rows);
                    for (int i = 0; i < 4 * rows; i++) prefill4.Add(Math.Abs(y[i] - (double)pe[i]), magnitude[i], bound);
                }
                // The public entry points quantize the activations themselves (vector quantizer, byte-exact with the
                // reference) and dispatch; prefill mixes the four-token and one-token kernels.
                var wm = new WeightMatrix("selftest", q4 ? DType.Q4_0 : DType.Q8_0, rows, cols, pw);
                var yd = new float[tokens * rows];
                var ye = new float[tokens * rows];
                fixed (float* pyd = yd, pye = ye)
                {
                    for (int t = 0; t < tokens; t++)
                    {
                        if (q4) MatVecQ4_0.Rows(wm, px + t * cols, pyd + t * rows, 0, rows);
                        else MatVecQ8_0.Rows(wm, px + t * cols, pyd + t * rows, 0, rows);
                    }
                    if (q4) MatVecQ4_0.MatMulRows(wm, px, tokens, pye, 0, rows);
                    else MatVecQ8_0.MatMulRows(wm, px, tokens, pye, 0, rows);
                }
                for (int i = 0; i < ye.Length; i++)
                {
                    decode.Add(Math.Abs(yd[i] - (double)pe[i]), magnitude[i], bound);
                    entry.Add(Math.Abs(ye[i] - (double)pe[i]), magnitude[i], bound);
                }
            }
        }
        string cases = string.Join(",", s_quantShapes.Select(s => $"{s.Rows}x{s.Blocks * 32}")) + " x7 tokens";
        foreach (var acc in perPath.Values) checks.Add(acc.Result(cases));
        if (prefill4 is not null) checks.Add(prefill4.Result(cases));
        checks.Add(decode.Result(cases));
        checks.Add(entry.Result(cases));
    }

    private static void Reference(bool q4, byte* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rows)
    {
        if (q4) MatVecQ4_0.RowsReference((BlockQ4_0*)w, blocks, xq, xd, y, 0, rows);
        else MatVecQ8_0.RowsReference((BlockQ8_0*)w, blocks, xq, xd, y, 0, rows);
    }

    private static void Rows(bool q4, string path, byte* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int r0, int r1)
    {
        if (q4)
        {
            var wq = (BlockQ4_0*)w;
            switch (path)
            {
                case "AvxVnni": MatVecQ4_0.RowsAvxVnni(wq, blocks, xq, xd, y, r0, r1); break;
                case "Avx2": MatVecQ4_0.RowsAvx2(wq, blocks, xq, xd, y, r0, r1); break;
                case "Dp": MatVecQ4_0.RowsDp(wq, blocks, xq, xd, y, r0, r1); break;
                case "AdvSimd": MatVecQ4_0.RowsAdvSimd(wq, blocks, xq, xd, y, r0, r1); break;
                default: throw new ArgumentException($"unknown path {path}", nameof(path));
            }
        }
        else
        {
            var wq = (BlockQ8_0*)w;
            switch (path)
            {
                case "AvxVnni": MatVecQ8_0.RowsAvxVnni(wq, blocks, xq, xd, y, r0, r1); break;
                case "Avx2": MatVecQ8_0.RowsAvx2(wq, blocks, xq, xd, y, r0, r1); break;
                case "Dp": MatVecQ8_0.RowsDp(wq, blocks, xq, xd, y, r0, r1); break;
                case "AdvSimd": MatVecQ8_0.RowsAdvSimd(wq, blocks, xq, xd, y, r0, r1); break;
                default: throw new ArgumentException($"unknown path {path}", nameof(path));
            }
        }
    }

    private static void Rows4(bool q4, byte* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rows)
    {
        if (q4)
        {
            if (Avx2.IsSupported) MatVecQ4_0.Rows4TokensX86((BlockQ4_0*)w, blocks, xq, xd, y, rows, 0, rows);
            else MatVecQ4_0.Rows4TokensDp((BlockQ4_0*)w, blocks, xq, xd, y, rows, 0, rows);
        }
        else
        {
            if (Avx2.IsSupported) MatVecQ8_0.Rows4TokensX86((BlockQ8_0*)w, blocks, xq, xd, y, rows, 0, rows);
            else MatVecQ8_0.Rows4TokensDp((BlockQ8_0*)w, blocks, xq, xd, y, rows, 0, rows);
        }
    }

    /// <summary>Σ_b |d_w·d_x|·Σ_j |w_j·x_j| of one row: the magnitude any f32 summation order is bounded by.</summary>
    private static double AbsTermSum(bool q4, byte* row, BlockQ8_0* xq, int blocks)
    {
        double s = 0;
        for (int b = 0; b < blocks; b++)
        {
            long abs = 0;
            double dw;
            if (q4)
            {
                var blk = (BlockQ4_0*)row + b;
                dw = (double)blk->D;
                for (int j = 0; j < 16; j++)
                    abs += Math.Abs(((blk->Qs[j] & 0x0F) - 8) * xq[b].Qs[j]) + Math.Abs(((blk->Qs[j] >> 4) - 8) * xq[b].Qs[j + 16]);
            }
            else
            {
                var blk = (BlockQ8_0*)row + b;
                dw = (double)blk->D;
                for (int j = 0; j < 32; j++) abs += Math.Abs(blk->Qs[j] * xq[b].Qs[j]);
            }
            s += abs * Math.Abs(dw * (double)xq[b].D);
        }
        return s;
    }

    private static void CheckElementwise(Random rng, List<KernelCheck> checks)
    {
        string tp = Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : Vector128.IsHardwareAccelerated ? "Vector128" : "Scalar";
        var silu = new Accumulator("silu", "Scalar");
        var siluInPlace = new Accumulator("silu in place", $"TensorPrimitives {tp}");
        var swiglu = new Accumulator("swiglu", "Scalar");
        var gelu = new Accumulator("gelu", Vector256.IsHardwareAccelerated ? "Vector256" : "Scalar");
        var rms = new Accumulator("rmsnorm", $"TensorPrimitives {tp}");
        var rmsSimple = new Accumulator("rmsnorm simple", $"TensorPrimitives {tp}");
        var layer = new Accumulator("layernorm", $"TensorPrimitives {tp}");
        var softmax = new Accumulator("softmax", $"TensorPrimitives {tp}");
        foreach (int n in s_lengths)
        {
            var x = Random(rng, n, 3.0);
            var g = Random(rng, n, 3.0);
            var w = Random(rng, n);
            var bias = Random(rng, n);
            var actual = new float[n];
            var expected = new float[n];

            Activations.Silu(x, actual);
            Activations.SiluReference(x, expected);
            Elementwise(silu, actual, expected, 1e-6);
            x.CopyTo(actual, 0);
            Activations.SiluInPlace(actual);
            Elementwise(siluInPlace, actual, expected, 1e-6);
            Activations.SwiGlu(x, g, actual);
            for (int i = 0; i < n; i++) expected[i] = (float)(x[i] * (g[i] / (1.0 + Math.Exp(-g[i]))));
            Elementwise(swiglu, actual, expected, 1e-6);
            Activations.Gelu(x, actual);
            Activations.GeluReference(x, expected);
            Elementwise(gelu, actual, expected, 1e-6);

            RmsNorm.Forward(x, w, 1e-5f, actual);
            RmsNorm.Reference(x, w, 1e-5f, expected);
            Elementwise(rms, actual, expected, 2e-6);
            RmsNorm.ForwardSimple(x, 1e-6f, actual);
            RmsNorm.Reference(x, [], 1e-6f, expected);
            Elementwise(rmsSimple, actual, expected, 2e-6);
            LayerNorm.Forward(x, w, bias, 1e-5f, actual);
            LayerNorm.Reference(x, w, bias, 1e-5f, expected);
            Elementwise(layer, actual, expected, 2e-6);
            Softmax.Forward(x, actual);
            Softmax.Reference(x, expected);
            Elementwise(softmax, actual, expected, 2e-6);
        }
        string cases = $"n = {string.Join(",", s_lengths)}";
        foreach (var acc in new[] { silu, siluInPlace, swiglu, gelu, rms, rmsSimple, layer, softmax }) checks.Add(acc.Result(cases));
    }

    private static void Elementwise(Accumulator acc, float[] actual, float[] expected, double tolerance)
    {
        for (int i = 0; i < actual.Length; i++) acc.Add(Math.Abs(actual[i] - (double)expected[i]), Math.Max(1, Math.Abs((double)expected[i])), tolerance);
    }

    private static (double Exact, double Scale) DotExact(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double exact = 0, scale = 0;
        for (int i = 0; i < a.Length; i++) { exact += (double)a[i] * b[i]; scale += Math.Abs((double)a[i] * b[i]); }
        return (exact, scale);
    }

    private static float[] Random(Random rng, int n, double sigma = 1.0)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            x[i] = (float)(sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return x;
    }

    /// <summary>Vector widths up to <paramref name="widest"/> bits with whether the hardware accelerates them.</summary>
    private static (string Name, bool Supported)[] VectorWidths(int widest) =>
    [
        .. widest >= 512 ? new[] { ("Vector512", Vector512.IsHardwareAccelerated) } : [],
        ("Vector256", Vector256.IsHardwareAccelerated),
        ("Vector128", Vector128.IsHardwareAccelerated),
    ];

    private static string Shapes((int Rows, int Cols)[] shapes) => string.Join(",", shapes.Select(s => $"{s.Rows}x{s.Cols}"));

    /// <summary>Worst error of one kernel path over its cases.</summary>
    private sealed class Accumulator(string kernel, string path)
    {
        private double _worst, _tolerance;
        private bool _pass = true;

        public void Add(double error, double scale, double tolerance)
        {
            double relative = scale > 0 ? error / scale : error;
            if (!double.IsFinite(relative) || relative > tolerance) _pass = false;
            if (!(relative <= _worst)) _worst = relative; // NaN sticks
            _tolerance = Math.Max(_tolerance, tolerance);
        }

        public KernelCheck Result(string cases) => new(kernel, path, _worst, _tolerance, _pass, cases);
    }
}
