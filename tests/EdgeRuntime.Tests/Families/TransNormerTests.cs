using System.Globalization;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Families.TransNormer;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Tests.Families;

/// <summary>TransNormerLLM against the golden reference outputs, and its recurrent and block forms against each other.</summary>
public sealed class TransNormerTests
{
    private const double GoldenTolerance = 1e-4;

    private static string SharedDirectory()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "shared", "golden"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir ?? throw new DirectoryNotFoundException("no shared/golden above " + AppContext.BaseDirectory), "shared");
    }

    private static string GoldenModelDirectory => Path.Combine(SharedDirectory(), "golden", "transnormer-tiny");

    /// <summary>golden.safetensors of transnormer-tiny, read once.</summary>
    private sealed class Golden
    {
        public static readonly Golden Instance = new();

        private Golden()
        {
            using var f = new SafetensorsFile(Path.Combine(GoldenModelDirectory, "golden.safetensors"));
            Tokens = f.ReadI32("tokens");
            Logits = f.ReadF32("logits");
            Vocab = (int)f.Tensors["logits"].Shape[1];
            PromptLength = int.Parse(f.Metadata["prompt_len"], CultureInfo.InvariantCulture);
            Penalty = double.Parse(f.Metadata["repetition_penalty"], CultureInfo.InvariantCulture);
            GenTokens = f.ReadI32("gen_tokens");
            GenLogits = f.ReadF32("gen_logits");
            PenalizedTokens = f.ReadI32("penalized_gen_tokens");
            PenalizedLogits = f.ReadF32("penalized_gen_logits");
        }

        public int[] Tokens { get; }
        public float[] Logits { get; }
        public int Vocab { get; }
        public int PromptLength { get; }
        public double Penalty { get; }
        public int[] GenTokens { get; }
        public float[] GenLogits { get; }
        public int[] PenalizedTokens { get; }
        public float[] PenalizedLogits { get; }
    }

    private static ILanguageModel LoadGolden(WorkerPool? pool = null, int block = 256) =>
        (ILanguageModel)ModelLoader.Load(GoldenModelDirectory, new ModelOptions { Pool = pool ?? WorkerPool.Single, PrefillBlock = block });

    /// <summary>max|expected − actual| / max|expected|, naming the worst element on failure.</summary>
    private static void AssertClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, int rowLength)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxRef = 0, maxErr = 0;
        int worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
            double err = Math.Abs((double)expected[i] - actual[i]);
            if (!(err <= maxErr)) (maxErr, worst) = (err, i);
        }
        double ratio = maxErr / Math.Max(maxRef, 1e-30);
        Assert.True(ratio <= tolerance,
            $"{what}: max|Δ|/max|expected| = {ratio:E3} > {tolerance:E1} at row {worst / rowLength}, column {worst % rowLength}: expected {expected[worst]}, actual {actual[worst]}");
    }

    /// <summary>Feeds the golden tokens as a schedule of calls: a positive entry n is Prefill(n) with every position's
    /// logits, −1 is one Step; the rest of the sequence goes one Step at a time.</summary>
    private static float[] RunSchedule(ILanguageModel model, int[] tokens, params int[] schedule)
    {
        int v = model.LogitsLength;
        var logits = new float[tokens.Length * v];
        var state = new float[model.StateLength];
        model.InitState(state);
        using var scratch = model.CreateScratch();
        int t = 0;
        foreach (int entry in schedule)
        {
            if (entry < 0)
            {
                model.Step(tokens[t], state, logits.AsSpan(t * v, v), scratch);
                t++;
            }
            else
            {
                model.Prefill(tokens.AsSpan(t, entry), state, logits.AsSpan(t * v, entry * v), scratch);
                t += entry;
            }
            Assert.Equal(t, model.Position(state));
        }
        for (; t < tokens.Length; t++) model.Step(tokens[t], state, logits.AsSpan(t * v, v), scratch);
        return logits;
    }

    [Fact]
    public void Golden_Matches_When_PrefilledInOneCall()
    {
        var g = Golden.Instance;
        using var model = LoadGolden();
        Assert.Equal(g.Vocab, model.LogitsLength);
        AssertClose("Prefill(600)", g.Logits, RunSchedule(model, g.Tokens, g.Tokens.Length), GoldenTolerance, g.Vocab);
    }

    [Fact]
    public void Golden_Matches_When_SteppedOneTokenAtATime()
    {
        var g = Golden.Instance;
        using var model = LoadGolden();
        AssertClose("600 × Step", g.Logits, RunSchedule(model, g.Tokens), GoldenTolerance, g.Vocab);
    }

    [Theory]
    [InlineData(520)]   // the golden's prompt length
    [InlineData(1)]
    [InlineData(300)]   // a split inside the second 256-token block
    public void Golden_Matches_When_PrefillThenSteps(int prefill)
    {
        var g = Golden.Instance;
        using var model = LoadGolden();
        AssertClose($"Prefill({prefill}) then Steps", g.Logits, RunSchedule(model, g.Tokens, prefill), GoldenTolerance, g.Vocab);
    }

    [Fact]
    public void Golden_Matches_When_PrefilledInCallsOf100()
    {
        var g = Golden.Instance;
        using var pool = new WorkerPool(2);
        using var model = LoadGolden(pool);
        AssertClose("6 × Prefill(100) on 2 workers", g.Logits, RunSchedule(model, g.Tokens, 100, 100, 100, 100, 100, 100), GoldenTolerance, g.Vocab);
    }

    [Fact]
    public void Golden_Matches_When_PrefillReturnsLastLogitsOnly()
    {
        var g = Golden.Instance;
        using var model = LoadGolden(block: 64);
        var state = new float[model.StateLength];
        model.InitState(state);
        using var scratch = model.CreateScratch();
        var last = new float[model.LogitsLength];
        model.Prefill(g.Tokens.AsSpan(0, g.PromptLength), state, last, scratch);
        AssertClose("Prefill(P) last row, block 64", g.Logits.AsSpan((g.PromptLength - 1) * g.Vocab, g.Vocab), last, GoldenTolerance, g.Vocab);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GreedyGeneration_MatchesGolden_When_AfterPrompt(bool penalized)
    {
        var g = Golden.Instance;
        int[] expectedTokens = penalized ? g.PenalizedTokens : g.GenTokens;
        float[] expectedLogits = penalized ? g.PenalizedLogits : g.GenLogits;
        using var model = LoadGolden();
        var state = new float[model.StateLength];
        model.InitState(state);
        using var scratch = model.CreateScratch();
        var logits = new float[model.LogitsLength];
        var history = new List<int>(g.Tokens.AsSpan(0, g.PromptLength).ToArray());
        model.Prefill(g.Tokens.AsSpan(0, g.PromptLength), state, logits, scratch);
        for (int step = 0; step < expectedTokens.Length; step++)
        {
            var scores = (float[])logits.Clone();
            if (penalized)
            {
                // Hugging Face RepetitionPenaltyLogitsProcessor: each distinct earlier token once.
                foreach (int token in history.Distinct())
                    scores[token] = scores[token] > 0 ? (float)(scores[token] / g.Penalty) : (float)(scores[token] * g.Penalty);
            }
            AssertClose($"{(penalized ? "penalized " : "")}generation step {step}", expectedLogits.AsSpan(step * g.Vocab, g.Vocab), logits, GoldenTolerance, g.Vocab);
            int next = 0;
            for (int i = 1; i < model.VocabSize; i++)
                if (scores[i] > scores[next]) next = i;
            Assert.True(expectedTokens[step] == next, $"generation step {step}: expected token {expectedTokens[step]}, got {next}");
            history.Add(next);
            model.Step(next, state, logits, scratch);
        }
    }

    [Fact]
    public void Step_AllocatesNothing_When_WarmedUp()
    {
        var g = Golden.Instance;
        using var model = LoadGolden(WorkerPool.Single);
        var state = new float[model.StateLength];
        model.InitState(state);
        using var scratch = model.CreateScratch();
        var logits = new float[model.LogitsLength];
        for (int t = 0; t < 8; t++) model.Step(g.Tokens[t], state, logits, scratch);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int t = 0; t < 1000; t++) model.Step(g.Tokens[t % g.Tokens.Length], state, t % 2 == 0 ? logits : [], scratch);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"1000 Steps allocated {allocated} managed bytes");
    }

    [Fact]
    public void StateLength_IsFixedByConfig_When_TokensAreSeen()
    {
        var g = Golden.Instance;
        using var model = LoadGolden();
        // position (2) + layer 0 with LRPE: 4 heads × 64 × 32, layers 1..3: 4 × 32 × 32.
        int expected = 2 + 4 * 64 * 32 + 3 * 4 * 32 * 32;
        Assert.Equal(expected, model.StateLength);
        Assert.Equal(expected * 4L, model.Info.StateBytes);
        var state = new float[model.StateLength];
        model.InitState(state);
        using var scratch = model.CreateScratch();
        model.Prefill(g.Tokens, state, [], scratch);
        model.Prefill(g.Tokens, state, [], scratch);
        Assert.Equal(expected, model.StateLength);
        Assert.Equal(2L * g.Tokens.Length, model.Position(state));
        Assert.All(state, x => Assert.True(float.IsFinite(x)));
    }

    // ---- random checkpoints: recurrent and block forms agree ----

    private sealed record RandomSpec(int Heads, int HeadSize, int Layers, int[] Lrpe, bool Bias, string Act, string? GluAct, bool Tied, bool NoScale);

    private static readonly RandomSpec[] s_specs =
    [
        new(3, 5, 3, [1, 0, 1], Bias: false, "swish", null, Tied: true, NoScale: false),
        new(5, 3, 2, [0, 1], Bias: true, "relu", "silu", Tied: false, NoScale: true),
        new(6, 7, 4, [1, 1, 0, 1], Bias: false, "1+elu", "gelu", Tied: false, NoScale: false),
        new(6, 4, 1, [1], Bias: true, "silu", "none", Tied: true, NoScale: false),
    ];

    /// <summary>Writes config.json and model.safetensors with random weights; returns the directory.</summary>
    private static string WriteRandomCheckpoint(RandomSpec spec, int seed)
    {
        var rng = new Random(seed);
        int d = 12, hidden = spec.Heads * spec.HeadSize, glu = 20, vocab = 37;
        float[] Rand(int n, double scale)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
            return a;
        }
        var w = new SafetensorsWriter();
        w.Add("model.embed_tokens.weight", Rand(vocab * d, 0.3), vocab, d);
        for (int l = 0; l < spec.Layers; l++)
        {
            string p = $"model.layers.{l}";
            w.Add($"{p}.token_mixer.qkvu_proj.weight", Rand(4 * hidden * d, 1 / Math.Sqrt(d)), 4 * hidden, d);
            w.Add($"{p}.token_mixer.out_proj.weight", Rand(d * hidden, 1 / Math.Sqrt(hidden)), d, hidden);
            if (spec.Lrpe[l] != 0) w.Add($"{p}.token_mixer.lrpe.theta", Rand(hidden, 1.0), spec.Heads, 1, spec.HeadSize);
            w.Add($"{p}.channel_mixer.l1.weight", Rand(glu * d, 1 / Math.Sqrt(d)), glu, d);
            w.Add($"{p}.channel_mixer.l2.weight", Rand(glu * d, 1 / Math.Sqrt(d)), glu, d);
            w.Add($"{p}.channel_mixer.l3.weight", Rand(d * glu, 1 / Math.Sqrt(glu)), d, glu);
            if (spec.Bias)
            {
                w.Add($"{p}.token_mixer.qkvu_proj.bias", Rand(4 * hidden, 0.1), 4 * hidden);
                w.Add($"{p}.token_mixer.out_proj.bias", Rand(d, 0.1), d);
                w.Add($"{p}.channel_mixer.l1.bias", Rand(glu, 0.1), glu);
                w.Add($"{p}.channel_mixer.l2.bias", Rand(glu, 0.1), glu);
                w.Add($"{p}.channel_mixer.l3.bias", Rand(d, 0.1), d);
            }
        }
        if (!spec.Tied) w.Add("lm_head.weight", Rand(vocab * d, 0.3), vocab, d);
        string dir = Directory.CreateTempSubdirectory("tn-random-").FullName;
        w.Save(Path.Combine(dir, "model.safetensors"));
        string gluAct = spec.GluAct is null ? "" : $"\"glu_act\": \"{spec.GluAct}\",";
        File.WriteAllText(Path.Combine(dir, "config.json"), $$"""
            {
              "model_type": "transnormer", "vocab_size": {{vocab}}, "decoder_embed_dim": {{d}}, "decoder_layers": {{spec.Layers}},
              "decoder_attention_heads": {{spec.Heads}}, "hidden_dim": {{hidden}}, "glu_dim": {{glu}},
              "linear_act_fun": "{{spec.Act}}", {{gluAct}} "norm_type": "simplermsnorm", "bias": {{(spec.Bias ? "true" : "false")}},
              "linear_use_lrpe_list": [{{string.Join(", ", spec.Lrpe)}}], "no_scale_embedding": {{(spec.NoScale ? "true" : "false")}},
              "tie_word_embeddings": {{(spec.Tied ? "true" : "false")}}
            }
            """);
        return dir;
    }

    public static TheoryData<int, int> RandomCases()
    {
        var data = new TheoryData<int, int>();
        for (int s = 0; s < s_specs.Length; s++)
            foreach (int t in new[] { 1, 7, 64, 65 }) data.Add(s, t);
        return data;
    }

    [Theory]
    [MemberData(nameof(RandomCases))]
    public void StepsPrefillAndSplits_Agree_When_RandomCheckpoint(int specIndex, int tokenCount)
    {
        var spec = s_specs[specIndex];
        string dir = WriteRandomCheckpoint(spec, 1000 + specIndex);
        try
        {
            var rng = new Random(42 + tokenCount);
            int[] tokens = Enumerable.Range(0, tokenCount).Select(_ => rng.Next(37)).ToArray();
            using var pool = new WorkerPool(2);
            using var model = (ILanguageModel)ModelLoader.Load(dir, new ModelOptions { Pool = pool, PrefillBlock = 16 });
            int v = model.LogitsLength;

            float[] Run(out float[] finalState, params int[] schedule)
            {
                var logits = new float[tokenCount * v];
                var state = new float[model.StateLength];
                model.InitState(state);
                using var scratch = model.CreateScratch();
                int t = 0;
                foreach (int entry in schedule)
                {
                    if (t >= tokenCount) break;
                    int n = Math.Min(entry < 0 ? 1 : entry, tokenCount - t);
                    if (entry < 0) model.Step(tokens[t], state, logits.AsSpan(t * v, v), scratch);
                    else model.Prefill(tokens.AsSpan(t, n), state, logits.AsSpan(t * v, n * v), scratch);
                    t += n;
                }
                for (; t < tokenCount; t++) model.Step(tokens[t], state, logits.AsSpan(t * v, v), scratch);
                Assert.Equal(tokenCount, model.Position(state));
                finalState = state;
                return logits;
            }

            float[] stepped = Run(out float[] stepState);
            float[] prefilled = Run(out float[] prefillState, tokenCount);
            float[] mixed = Run(out float[] mixedState, 5, -1, 17, 1, -1, 33, 2);
            AssertClose("Prefill(T) logits vs Steps", stepped, prefilled, 2e-5, v);
            AssertClose("Prefill(T) state vs Steps", stepState, prefillState, 2e-5, model.StateLength);
            AssertClose("mixed splits logits vs Steps", stepped, mixed, 2e-5, v);
            AssertClose("mixed splits state vs Steps", stepState, mixedState, 2e-5, model.StateLength);
            Assert.Equal(BitConverter.SingleToInt32Bits(stepState[0]), BitConverter.SingleToInt32Bits(prefillState[0]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TiedHead_UsesEmbedding_When_LmHeadAbsent()
    {
        // Spec 0 has no lm_head; its logits must equal E · SRMSNorm(x), i.e. the same model with lm_head = E written out.
        var spec = s_specs[0];
        string tied = WriteRandomCheckpoint(spec, 77);
        string explicitHead = WriteRandomCheckpoint(spec with { Tied = false }, 77);
        try
        {
            // Same seed: the untied file has identical tensors plus a random lm_head; overwrite that with the embedding.
            using (var src = new SafetensorsWeightSource(tied))
            using (var other = new SafetensorsWeightSource(explicitHead))
            {
                var w = new SafetensorsWriter();
                foreach (string name in other.Names.Order(StringComparer.Ordinal))
                {
                    string from = name == "lm_head.weight" ? "model.embed_tokens.weight" : name;
                    var shape = other.ShapeOf(name)!;
                    w.Add(name, src.Contains(from) ? src.Floats(from, src.ShapeOf(from)!) : other.Floats(name, shape), shape);
                }
                w.Save(Path.Combine(explicitHead, "model.safetensors.new"));
            }
            File.Move(Path.Combine(explicitHead, "model.safetensors.new"), Path.Combine(explicitHead, "model.safetensors"), overwrite: true);
            int[] tokens = [3, 1, 4, 1, 5, 9, 2, 6];
            float[] Logits(string dir)
            {
                using var model = (ILanguageModel)ModelLoader.Load(dir, new ModelOptions { Pool = WorkerPool.Single });
                var state = new float[model.StateLength];
                model.InitState(state);
                using var scratch = model.CreateScratch();
                var logits = new float[tokens.Length * model.LogitsLength];
                model.Prefill(tokens, state, logits, scratch);
                return logits;
            }
            Assert.Equal(Logits(explicitHead), Logits(tied));
        }
        finally
        {
            Directory.Delete(tied, true);
            Directory.Delete(explicitHead, true);
        }
    }

    [Fact]
    public void Load_Throws_When_LmHeadAbsentAndUntied()
    {
        string dir = WriteRandomCheckpoint(s_specs[0], 5);
        try
        {
            string path = Path.Combine(dir, "config.json");
            File.WriteAllText(path, File.ReadAllText(path).Replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false", StringComparison.Ordinal));
            var ex = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(dir, new ModelOptions { Pool = WorkerPool.Single }));
            Assert.Contains("lm_head.weight", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Load_Throws_When_LrpeFlagsDisagreeWithTensors()
    {
        string dir = WriteRandomCheckpoint(s_specs[0], 5);   // LRPE in layers 0 and 2
        try
        {
            string path = Path.Combine(dir, "config.json");
            string json = File.ReadAllText(path);
            File.WriteAllText(path, json.Replace("[1, 0, 1]", "[1, 1, 1]", StringComparison.Ordinal));
            var missing = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(dir, new ModelOptions { Pool = WorkerPool.Single }));
            Assert.Contains("model.layers.1.token_mixer.lrpe.theta", missing.Message, StringComparison.Ordinal);
            File.WriteAllText(path, json.Replace("[1, 0, 1]", "[1, 0, 0]", StringComparison.Ordinal));
            var extra = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(dir, new ModelOptions { Pool = WorkerPool.Single }));
            Assert.Contains("model.layers.2.token_mixer.lrpe.theta", extra.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void StepAndPrefill_Throw_When_ArgumentsAreInvalid()
    {
        using var model = LoadGolden();
        var state = new float[model.StateLength];
        model.InitState(state);
        using var scratch = model.CreateScratch();
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Step(512, state, [], scratch));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Prefill([1, 2, -1], state, [], scratch));
        Assert.Equal(0, model.Position(state));   // rejected before the state changed
        Assert.Throws<ArgumentException>(() => model.Step(1, new float[10], [], scratch));
        Assert.Throws<ArgumentException>(() => model.Prefill([1, 2], state, new float[7], scratch));
        using var other = LoadGolden();
        using var foreign = other.CreateScratch();
        Assert.Throws<ArgumentException>(() => model.Step(1, state, [], foreign));
    }

    // ---- config ----

    [Fact]
    public void FromJson_ReadsGoldenConfig_When_Valid()
    {
        string path = Path.Combine(GoldenModelDirectory, "config.json");
        var c = TransNormerConfig.FromJson(File.ReadAllText(path), path);
        Assert.Equal((512, 128, 4, 4, 128, 352, 32), (c.VocabSize, c.EmbedDim, c.LayerCount, c.HeadCount, c.HiddenDim, c.GluDim, c.HeadSize));
        Assert.Equal(TransNormerActivation.Silu, c.QkActivation);
        Assert.Equal(TransNormerActivation.None, c.GluActivation);   // absent glu_act: SGLU
        Assert.True(c.UsesLrpe(0));
        Assert.False(c.UsesLrpe(1));
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(1e-6, c.NormEps);
        Assert.Equal((0, 1, 2), (c.PadTokenId, c.BosTokenId, c.EosTokenId));
    }

    private const string MinimalConfig =
        """{"model_type": "transnormer", "vocab_size": 10, "decoder_embed_dim": 8, "decoder_layers": 2, "decoder_attention_heads": 2, "hidden_dim": 8, "glu_dim": 16}""";

    [Fact]
    public void FromJson_AppliesReferenceDefaults_When_OptionalKeysAbsent()
    {
        var c = TransNormerConfig.FromJson(MinimalConfig, "c.json");
        Assert.Equal("silu", c.LinearActFun);
        Assert.Equal("simplermsnorm", c.NormType);
        Assert.False(c.Bias);
        Assert.False(c.NoScaleEmbedding);
        Assert.True(c.TieWordEmbeddings);
        Assert.Empty(c.LrpeLayers);
        Assert.False(c.UsesLrpe(1));
    }

    [Theory]
    [InlineData("\"glu_dim\": 16", "", "required key 'glu_dim' is missing")]
    [InlineData("\"glu_dim\": 16", "\"glu_dim\": \"16\"", "key 'glu_dim' in 'c.json' has the wrong type")]
    [InlineData("\"glu_dim\": 16", "\"glu_dim\": 16, \"bias\": 0", "key 'bias' in 'c.json' has the wrong type")]
    [InlineData("\"glu_dim\": 16", "\"glu_dim\": 16, \"linear_use_lrpe_list\": [1, true]", "key 'linear_use_lrpe_list' in 'c.json' has the wrong type")]
    [InlineData("\"glu_dim\": 16", "\"glu_dim\": 16, \"linear_use_lrpe_list\": [1, 0, 0]", "expected 2 entries")]
    [InlineData("\"glu_dim\": 16", "\"glu_dim\": 16, \"linear_use_lrpe_list\": [1, 2]", "expected 0 or 1 at index 1")]
    [InlineData("\"glu_dim\": 16", "\"glu_dim\": 16, \"linear_act_fun\": null", "key 'linear_act_fun' in 'c.json' has the wrong type")]
    [InlineData("\"hidden_dim\": 8", "\"hidden_dim\": 9", "expected a multiple of decoder_attention_heads 2")]
    [InlineData("\"glu_dim\": 16", "\"glu_dim\": 16, \"norm_type\": \"layernorm\"", "key 'norm_type'")]
    [InlineData("\"glu_dim\": 16", "\"glu_dim\": 16, \"linear_act_fun\": \"tanh\"", "key 'linear_act_fun'")]
    [InlineData("\"decoder_layers\": 2", "\"decoder_layers\": 0", "key 'decoder_layers'")]
    public void FromJson_Throws_When_ConfigIsInvalid(string find, string replace, string message)
    {
        string json = MinimalConfig.Replace(", " + find, replace.Length == 0 ? "" : ", " + replace, StringComparison.Ordinal);
        Assert.NotEqual(MinimalConfig, json);
        var ex = Assert.Throws<ModelConfigException>(() => TransNormerConfig.FromJson(json, "c.json"));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Contains("c.json", ex.Message, StringComparison.Ordinal);
    }
}
