using System.Globalization;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Families.Aaren;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Tests.Mechanisms;

namespace EdgeRuntime.Tests.Families;

/// <summary>The Aaren family: golden outputs, step/prefill equivalence on random checkpoints against an independent
/// double-precision masked-softmax model, zero allocation, state layout, config errors.</summary>
public sealed class AarenTests
{
    private const double GoldenTolerance = 1e-4;

    // ---- golden -------------------------------------------------------------------------------------------------

    public static TheoryData<string, int> GoldenSchedules() => new()
    {
        { "stream", 256 },
        { "prefill-all", 256 },
        { "prefill-all", 16 },
        { "prefill-1-then-steps", 256 },
        { "prefill-150-then-steps", 256 },
        { "prefill-150-then-steps", 16 },
        { "prefill-37x5-then-steps", 256 },
        { "prefill-37x5-then-steps", 16 },
    };

    [Theory]
    [MemberData(nameof(GoldenSchedules))]
    public void Outputs_MatchGolden_When_Scheduled(string schedule, int prefillBlock)
    {
        string dir = Path.Combine(SharedDirectory(), "golden", "aaren-tiny");
        float[] inputs, expected;
        using (var golden = new SafetensorsFile(Path.Combine(dir, "golden.safetensors")))
        {
            Assert.Equal([300L, 3L], golden.Get("inputs").Shape);
            Assert.Equal([300L, 2L], golden.Get("outputs").Shape);
            inputs = golden.ReadF32("inputs");
            expected = golden.ReadF32("outputs");
        }
        using var model = (ISequenceModel)ModelLoader.Load(dir, new ModelOptions { PrefillBlock = prefillBlock });
        Assert.Equal(3, model.InputLength);
        Assert.Equal(2, model.OutputLength);
        int[] splits = schedule switch
        {
            "stream" => [],
            "prefill-all" => [300],
            "prefill-1-then-steps" => [1],
            "prefill-150-then-steps" => [150],
            _ => [37, 37, 37, 37, 37],
        };
        var (actual, state) = Run(model, inputs, splits);
        AarenAttentionTests.AssertClose($"golden {schedule} (block {prefillBlock})", expected, actual, GoldenTolerance);
        Assert.Equal(300, model.Position(state));
    }

    [Fact]
    public void Prefill_WritesLastOutputOnly_When_OutputsHoldOneStep()
    {
        string dir = Path.Combine(SharedDirectory(), "golden", "aaren-tiny");
        float[] inputs, expected;
        using (var golden = new SafetensorsFile(Path.Combine(dir, "golden.safetensors")))
        {
            inputs = golden.ReadF32("inputs");
            expected = golden.ReadF32("outputs");
        }
        using var model = (ISequenceModel)ModelLoader.Load(dir, new ModelOptions { PrefillBlock = 64 });
        using var scratch = model.CreateScratch();
        var state = new float[model.StateLength];
        model.InitState(state);
        var last = new float[2];
        model.Prefill(inputs, state, last, scratch);
        AarenAttentionTests.AssertClose("last output", expected[^2..], last, GoldenTolerance);
    }

    // ---- random checkpoints -------------------------------------------------------------------------------------

    public static TheoryData<int, int> RandomCases()
    {
        var data = new TheoryData<int, int>();
        foreach (int config in new[] { 0, 1, 2 })
            foreach (int tokens in new[] { 1, 7, 64, 65 })
                data.Add(config, tokens);
        return data;
    }

    [Theory]
    [MemberData(nameof(RandomCases))]
    public void StepsPrefillAndSplits_Agree_When_RandomCheckpoint(int configIndex, int tokens)
    {
        var spec = RandomSpecs[configIndex];
        using var ckpt = RandomCheckpoint.Create(spec, seed: 100 + configIndex);
        using var model = (ISequenceModel)ModelLoader.Load(ckpt.Directory, new ModelOptions { PrefillBlock = 16, Threads = 1 });
        var rng = new Random(42 + tokens);
        var inputs = new float[tokens * spec.InputDim];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = (float)(rng.NextDouble() * 4 - 2);

        // Independent reference: the whole network in double, attention as an exact masked prefix softmax.
        var expected = ckpt.NaiveForward(inputs, tokens, out double maxAbsScore);
        if (spec.QueryScale > 10) Assert.True(maxAbsScore > 100, $"scores should reach the hundreds; max |s| = {maxAbsScore}");

        var (stepOut, stepState) = Run(model, inputs, []);
        string name = $"config {configIndex} T={tokens}";
        AssertFinite(name + " step outputs", stepOut);
        AssertFinite(name + " step state", stepState);
        AarenAttentionTests.AssertClose(name + " steps vs naive", expected, stepOut, 1e-4);

        int[][] schedules = [[tokens], [1, 15, 16, 17], [3, 0, 29], [16, 16, 16, 16, 16]];
        foreach (var splits in schedules)
        {
            var (out2, state2) = Run(model, inputs, splits);
            string what = $"{name} splits [{string.Join(", ", splits)}]";
            AssertFinite(what + " outputs", out2);
            AssertFinite(what + " state", state2);
            AarenAttentionTests.AssertClose(what + " vs steps", stepOut, out2, 1e-4);
            AssertStateClose(what, (AarenModel)model, stepState, state2);
        }
    }

    [Fact]
    public void Step_AllocatesNothing_When_WarmedUp()
    {
        using var ckpt = RandomCheckpoint.Create(RandomSpecs[0], seed: 5);
        using var model = (ISequenceModel)ModelLoader.Load(ckpt.Directory, new ModelOptions { Pool = WorkerPool.Single, PrefillBlock = 16 });
        using var scratch = model.CreateScratch();
        var state = new float[model.StateLength];
        model.InitState(state);
        var input = new float[model.InputLength];
        var output = new float[model.OutputLength];
        var inputs = new float[40 * model.InputLength];
        var outputs = new float[40 * model.OutputLength];
        for (int i = 0; i < 10; i++) model.Step(input, state, output, scratch);
        model.Prefill(inputs, state, outputs, scratch);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            input[0] = i * 0.01f;
            model.Step(input, state, output, scratch);
        }
        long stepBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        model.Prefill(inputs, state, outputs, scratch);
        long prefillBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, stepBytes);
        Assert.Equal(0, prefillBytes);
        AssertFinite("outputs", output);
    }

    // ---- state --------------------------------------------------------------------------------------------------

    [Fact]
    public void InitState_SetsMaxToNegativeInfinity_When_AtDocumentedOffsets()
    {
        var spec = RandomSpecs[0];
        using var ckpt = RandomCheckpoint.Create(spec, seed: 9);
        using var model = (AarenModel)ModelLoader.Load(ckpt.Directory);
        int headSize = spec.DModel / spec.Heads, headState = headSize + 2;
        Assert.Equal(2 + spec.Layers * spec.Heads * headState, model.StateLength);
        Assert.Equal(model.StateLength * 4L, model.Info.StateBytes);
        var state = new float[model.StateLength];
        state.AsSpan().Fill(float.NaN);
        model.InitState(state);
        var isMax = new bool[state.Length];
        for (int l = 0; l < spec.Layers; l++)
        {
            Assert.Equal(2 + l * spec.Heads * headState, model.LayerStateOffset(l));
            for (int h = 0; h < spec.Heads; h++) isMax[model.LayerStateOffset(l) + h * headState] = true;
        }
        for (int i = 0; i < state.Length; i++)
        {
            float expected = isMax[i] ? float.NegativeInfinity : 0f;
            Assert.True(expected.Equals(state[i]), $"state[{i}]: expected {expected}, got {state[i]}");
        }
        Assert.Equal(0, model.Position(state));

        // The length is fixed by the config: a long run does not change it, and the position counts steps.
        using var scratch = model.CreateScratch();
        model.Prefill(new float[100 * spec.InputDim], state, [], scratch);
        model.Step(new float[spec.InputDim], state, [], scratch);
        Assert.Equal(101, model.Position(state));
        Assert.Equal("aaren", model.Info.Family);
    }

    [Fact]
    public void StepAndPrefill_Throw_When_LengthsOrScratchAreWrong()
    {
        using var ckpt = RandomCheckpoint.Create(RandomSpecs[0], seed: 3); // input_dim 3: a ragged input is detectable
        using var model = (ISequenceModel)ModelLoader.Load(ckpt.Directory, new ModelOptions { PrefillBlock = 8 });
        using var other = (ISequenceModel)ModelLoader.Load(ckpt.Directory, new ModelOptions { PrefillBlock = 4 });
        using var scratch = model.CreateScratch();
        using var otherScratch = other.CreateScratch();
        var state = new float[model.StateLength];
        model.InitState(state);
        int inLen = model.InputLength, outLen = model.OutputLength;
        Assert.Throws<ArgumentException>(() => model.Step(new float[inLen + 1], state, new float[outLen], scratch));
        Assert.Throws<ArgumentException>(() => model.Step(new float[inLen], new float[3], new float[outLen], scratch));
        Assert.Throws<ArgumentException>(() => model.Step(new float[inLen], state, new float[outLen + 1], scratch));
        Assert.Throws<ArgumentException>(() => model.Step(new float[inLen], state, new float[outLen], otherScratch));
        Assert.Throws<ArgumentException>(() => model.Prefill(new float[3 * inLen + 1], state, [], scratch));
        Assert.Throws<ArgumentException>(() => model.Prefill(new float[3 * inLen], state, new float[2 * outLen], scratch));
    }

    // ---- config and checkpoint errors ---------------------------------------------------------------------------

    private const string GoodConfig = """
        { "model_type": "aaren", "input_dim": 3, "d_model": 64, "n_layer": 3, "n_head": 4, "mlp_hidden": 128,
          "activation": "gelu", "layer_norm_epsilon": 1e-05, "output_dim": 2, "task": "forecast", "extra": [1] }
        """;

    [Fact]
    public void FromJson_ReadsEveryKey_When_Valid()
    {
        var c = AarenConfig.FromJson(GoodConfig, "/x/config.json");
        Assert.Equal((3, 64, 3, 4, 16, 128, "gelu", 1e-5, 2, "forecast"),
            (c.InputSize, c.HiddenSize, c.LayerCount, c.HeadCount, c.HeadSize, c.MlpHiddenSize, c.Activation, c.LayerNormEpsilon, c.OutputSize, c.Task));
        Assert.Equal(c, AarenConfig.FromJson(c.ToJson(), "roundtrip"));
    }

    [Theory]
    [InlineData("d_model")]
    [InlineData("activation")]
    [InlineData("layer_norm_epsilon")]
    [InlineData("task")]
    public void FromJson_SaysMissing_When_KeyAbsent(string key)
    {
        string json = System.Text.RegularExpressions.Regex.Replace(GoodConfig, $"\"{key}\": [^,]+,", "");
        var ex = Assert.Throws<ModelConfigException>(() => AarenConfig.FromJson(json, "/x/config.json"));
        Assert.Contains($"'{key}'", ex.Message);
        Assert.Contains("missing", ex.Message);
        Assert.Contains("/x/config.json", ex.Message);
    }

    [Theory]
    [InlineData("\"d_model\": 64", "\"d_model\": \"64\"", "d_model")]
    [InlineData("\"d_model\": 64", "\"d_model\": 64.5", "d_model")]
    [InlineData("\"n_head\": 4", "\"n_head\": null", "n_head")]
    [InlineData("\"activation\": \"gelu\"", "\"activation\": 1", "activation")]
    [InlineData("\"layer_norm_epsilon\": 1e-05", "\"layer_norm_epsilon\": \"1e-5\"", "layer_norm_epsilon")]
    public void FromJson_SaysWrongType_When_KeyMistyped(string from, string to, string key)
    {
        var ex = Assert.Throws<ModelConfigException>(() => AarenConfig.FromJson(GoodConfig.Replace(from, to, StringComparison.Ordinal), "/x/config.json"));
        Assert.Contains($"'{key}'", ex.Message);
        Assert.Contains("wrong type", ex.Message);
        Assert.DoesNotContain("missing", ex.Message);
        Assert.Contains("/x/config.json", ex.Message);
    }

    [Theory]
    [InlineData("\"n_head\": 4", "\"n_head\": 5", "d_model")]
    [InlineData("\"n_layer\": 3", "\"n_layer\": 0", "n_layer")]
    [InlineData("\"input_dim\": 3", "\"input_dim\": -1", "input_dim")]
    [InlineData("\"activation\": \"gelu\"", "\"activation\": \"gelu_new\"", "activation")]
    [InlineData("\"task\": \"forecast\"", "\"task\": \"regress\"", "task")]
    [InlineData("\"model_type\": \"aaren\"", "\"model_type\": \"mamba\"", "model_type")]
    [InlineData("\"layer_norm_epsilon\": 1e-05", "\"layer_norm_epsilon\": 0", "layer_norm_epsilon")]
    public void FromJson_SaysInvalid_When_ValueOutOfRange(string from, string to, string key)
    {
        var ex = Assert.Throws<ModelConfigException>(() => AarenConfig.FromJson(GoodConfig.Replace(from, to, StringComparison.Ordinal), "/x/config.json"));
        Assert.Contains($"'{key}'", ex.Message);
        Assert.Contains("expected", ex.Message);
    }

    [Fact]
    public void Load_NamesTensor_When_ShapeWrongOrMissing()
    {
        using var ckpt = RandomCheckpoint.Create(RandomSpecs[1], seed: 4, mutate: w => w.Remove("layers.0.attn.query"));
        var ex = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(ckpt.Directory));
        Assert.Contains("layers.0.attn.query", ex.Message);

        using var ckpt2 = RandomCheckpoint.Create(RandomSpecs[1], seed: 4,
            mutate: w => w["head.weight"] = (w["head.weight"].Data, [w["head.weight"].Shape[1], w["head.weight"].Shape[0]]));
        var ex2 = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(ckpt2.Directory));
        Assert.Contains("head.weight", ex2.Message);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    internal sealed record Spec(int InputDim, int DModel, int Layers, int Heads, int MlpHidden, string Activation, int OutputDim, float QueryScale);

    // Odd head sizes everywhere (5, 7, 9); the first two have scores in the hundreds.
    private static readonly Spec[] RandomSpecs =
    [
        new(3, 15, 2, 3, 11, "gelu", 2, 250f),
        new(1, 14, 1, 2, 8, "relu", 3, 150f),
        new(4, 9, 3, 1, 20, "silu", 1, 1f),
    ];

    /// <summary>Runs the schedule: each split is one Prefill of that many steps; the rest are single Steps.</summary>
    private static (float[] Outputs, float[] State) Run(ISequenceModel model, float[] inputs, int[] splits)
    {
        int inLen = model.InputLength, outLen = model.OutputLength, steps = inputs.Length / inLen;
        var outputs = new float[steps * outLen];
        var state = new float[model.StateLength];
        model.InitState(state);
        using var scratch = model.CreateScratch();
        int t = 0;
        foreach (int split in splits)
        {
            int n = Math.Min(split, steps - t);
            model.Prefill(inputs.AsSpan(t * inLen, n * inLen), state, outputs.AsSpan(t * outLen, n * outLen), scratch);
            t += n;
        }
        for (; t < steps; t++)
            model.Step(inputs.AsSpan(t * inLen, inLen), state, outputs.AsSpan(t * outLen, outLen), scratch);
        return (outputs, state);
    }

    private static void AssertFinite(string what, float[] values)
    {
        for (int i = 0; i < values.Length; i++)
            Assert.True(float.IsFinite(values[i]), $"{what}[{i}] = {values[i]}"); // after one step no m is −∞ any more
    }

    // Per layer and head: m, c and a compared each against its own scale; the position exactly.
    private static void AssertStateClose(string what, AarenModel model, float[] expected, float[] actual)
    {
        Assert.Equal(model.Position(expected), model.Position(actual));
        int heads = model.Config.HeadCount, hs = model.Config.HeadSize + 2;
        for (int l = 0; l < model.Config.LayerCount; l++)
            for (int h = 0; h < heads; h++)
            {
                int o = model.LayerStateOffset(l) + h * hs;
                string at = $"{what} layer {l} head {h}";
                AarenAttentionTests.AssertClose(at + " m", new[] { expected[o] }, new[] { actual[o] }, 1e-5);
                AarenAttentionTests.AssertClose(at + " c", new[] { expected[o + 1] }, new[] { actual[o + 1] }, 1e-4);
                AarenAttentionTests.AssertClose(at + " a", expected[(o + 2)..(o + hs)], actual[(o + 2)..(o + hs)], 1e-4);
            }
    }

    /// <summary>The directory holding <c>golden/</c>: walk up from the test binary until <c>shared/golden</c> exists.</summary>
    internal static string SharedDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "golden"))) return candidate;
        }
        throw new DirectoryNotFoundException($"no shared/golden above '{AppContext.BaseDirectory}'");
    }

    /// <summary>A random Aaren checkpoint written to a temp directory (config.json + model.safetensors), deleted on dispose.</summary>
    private sealed class RandomCheckpoint : IDisposable
    {
        private readonly Spec _spec;
        private readonly Dictionary<string, (float[] Data, long[] Shape)> _w;

        private RandomCheckpoint(Spec spec, string directory, Dictionary<string, (float[] Data, long[] Shape)> weights)
        {
            _spec = spec;
            Directory = directory;
            _w = weights;
        }

        public string Directory { get; }

        public static RandomCheckpoint Create(Spec s, int seed, Action<Dictionary<string, (float[] Data, long[] Shape)>>? mutate = null)
        {
            var rng = new Random(seed);
            var w = new Dictionary<string, (float[] Data, long[] Shape)>(StringComparer.Ordinal);
            void Add(string name, double scale, double offset, params long[] shape)
            {
                var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
                for (int i = 0; i < data.Length; i++) data[i] = (float)(offset + (rng.NextDouble() * 2 - 1) * scale);
                w[name] = (data, shape);
            }
            int d = s.DModel;
            Add("input_proj.weight", 1.0 / Math.Sqrt(s.InputDim), 0, d, s.InputDim);
            Add("input_proj.bias", 0.1, 0, d);
            for (int l = 0; l < s.Layers; l++)
            {
                string p = $"layers.{l}";
                Add($"{p}.norm1.weight", 0.2, 1, d);
                Add($"{p}.norm1.bias", 0.1, 0, d);
                Add($"{p}.attn.query", s.QueryScale, 0, s.Heads, d / s.Heads);
                foreach (string proj in new[] { "k_proj", "v_proj", "out_proj" })
                {
                    Add($"{p}.attn.{proj}.weight", 1.0 / Math.Sqrt(d), 0, d, d);
                    Add($"{p}.attn.{proj}.bias", 0.1, 0, d);
                }
                Add($"{p}.norm2.weight", 0.2, 1, d);
                Add($"{p}.norm2.bias", 0.1, 0, d);
                Add($"{p}.mlp.fc1.weight", 1.0 / Math.Sqrt(d), 0, s.MlpHidden, d);
                Add($"{p}.mlp.fc1.bias", 0.1, 0, s.MlpHidden);
                Add($"{p}.mlp.fc2.weight", 1.0 / Math.Sqrt(s.MlpHidden), 0, d, s.MlpHidden);
                Add($"{p}.mlp.fc2.bias", 0.1, 0, d);
            }
            Add("final_norm.weight", 0.2, 1, d);
            Add("final_norm.bias", 0.1, 0, d);
            Add("head.weight", 1.0 / Math.Sqrt(d), 0, s.OutputDim, d);
            Add("head.bias", 0.1, 0, s.OutputDim);
            mutate?.Invoke(w);

            string dir = Path.Combine(Path.GetTempPath(), "aaren-test-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(dir);
            var inv = CultureInfo.InvariantCulture;
            File.WriteAllText(Path.Combine(dir, "config.json"), string.Create(inv, $$"""
                { "model_type": "aaren", "input_dim": {{s.InputDim}}, "d_model": {{d}}, "n_layer": {{s.Layers}},
                  "n_head": {{s.Heads}}, "mlp_hidden": {{s.MlpHidden}}, "activation": "{{s.Activation}}",
                  "layer_norm_epsilon": 1e-05, "output_dim": {{s.OutputDim}}, "task": "forecast" }
                """));
            var writer = new SafetensorsWriter();
            foreach (var (name, (data, shape)) in w) writer.Add(name, data, shape);
            writer.Save(Path.Combine(dir, "model.safetensors"));
            return new RandomCheckpoint(s, dir, w);
        }

        /// <summary>The network in double, layer by layer over all steps; attention = exact masked prefix softmax.</summary>
        public double[] NaiveForward(float[] inputs, int tokens, out double maxAbsScore)
        {
            var s = _spec;
            int d = s.DModel, heads = s.Heads, hd = d / heads;
            maxAbsScore = 0;
            var h = new double[tokens][];
            for (int t = 0; t < tokens; t++) h[t] = Linear("input_proj", inputs.AsSpan(t * s.InputDim, s.InputDim).ToArray().Select(x => (double)x).ToArray());
            for (int l = 0; l < s.Layers; l++)
            {
                string p = $"layers.{l}";
                var k = new double[tokens][];
                var v = new double[tokens][];
                for (int t = 0; t < tokens; t++)
                {
                    var z = Norm($"{p}.norm1", h[t]);
                    k[t] = Linear($"{p}.attn.k_proj", z);
                    v[t] = Linear($"{p}.attn.v_proj", z);
                }
                var q = _w[$"{p}.attn.query"].Data;
                var scores = new double[tokens];
                var o = new double[tokens][];
                for (int t = 0; t < tokens; t++) o[t] = new double[d];
                for (int hh = 0; hh < heads; hh++)
                {
                    for (int t = 0; t < tokens; t++)
                    {
                        double sc = 0;
                        for (int i = 0; i < hd; i++) sc += q[hh * hd + i] * k[t][hh * hd + i];
                        scores[t] = sc;
                        maxAbsScore = Math.Max(maxAbsScore, Math.Abs(sc));
                    }
                    for (int t = 0; t < tokens; t++)
                    {
                        double max = double.NegativeInfinity, den = 0;
                        for (int i = 0; i <= t; i++) max = Math.Max(max, scores[i]);
                        for (int i = 0; i <= t; i++) den += Math.Exp(scores[i] - max);
                        for (int i = 0; i <= t; i++)
                        {
                            double prob = Math.Exp(scores[i] - max) / den;
                            for (int j = 0; j < hd; j++) o[t][hh * hd + j] += prob * v[i][hh * hd + j];
                        }
                    }
                }
                for (int t = 0; t < tokens; t++)
                {
                    var a = Linear($"{p}.attn.out_proj", o[t]);
                    for (int i = 0; i < d; i++) h[t][i] += a[i];
                    var u = Linear($"{p}.mlp.fc1", Norm($"{p}.norm2", h[t]));
                    for (int i = 0; i < u.Length; i++) u[i] = Act(s.Activation, u[i]);
                    var m = Linear($"{p}.mlp.fc2", u);
                    for (int i = 0; i < d; i++) h[t][i] += m[i];
                }
            }
            var y = new double[tokens * s.OutputDim];
            for (int t = 0; t < tokens; t++) Linear("head", Norm("final_norm", h[t])).CopyTo(y, t * s.OutputDim);
            return y;
        }

        private double[] Linear(string name, double[] x)
        {
            var (wt, shape) = _w[name + ".weight"];
            var b = _w[name + ".bias"].Data;
            int rows = (int)shape[0], cols = (int)shape[1];
            var y = new double[rows];
            for (int r = 0; r < rows; r++)
            {
                double acc = b[r];
                for (int c = 0; c < cols; c++) acc += (double)wt[r * cols + c] * x[c];
                y[r] = acc;
            }
            return y;
        }

        private double[] Norm(string name, double[] x)
        {
            var wt = _w[name + ".weight"].Data;
            var b = _w[name + ".bias"].Data;
            double mean = x.Average(), var = x.Select(v => (v - mean) * (v - mean)).Average();
            double inv = 1.0 / Math.Sqrt(var + 1e-5);
            return x.Select((v, i) => (v - mean) * inv * wt[i] + b[i]).ToArray();
        }

        private static double Act(string name, double x) => name switch
        {
            "gelu" => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
            "relu" => Math.Max(x, 0),
            _ => x / (1 + Math.Exp(-x)),
        };

        // erf by its Maclaurin series (|x| ≤ 5; ±1 beyond, where 1 − erf < 2e-12): independent of the runtime's A&S kernel.
        private static double Erf(double x)
        {
            if (Math.Abs(x) > 5) return Math.Sign(x);
            double sum = 0, term = x;
            for (int n = 0; n < 200; n++)
            {
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
                term *= -x * x / (n + 1);
            }
            return 2 / Math.Sqrt(Math.PI) * sum;
        }

        public void Dispose()
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
                // A mapping still open on some platforms; the temp directory is cleaned by the OS.
            }
        }
    }
}
