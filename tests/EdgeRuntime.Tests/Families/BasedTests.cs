using EdgeRuntime.Models;
using EdgeRuntime.Models.Families.Based;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Families;

/// <summary>BASED on random checkpoints: Step, Prefill and mixed splits agree; a naive double-precision model agrees;
/// Step allocates nothing; the state has the size the config implies; config errors are clear.</summary>
public sealed class BasedTests(ITestOutputHelper output)
{
    private const int Block = 16;

    /// <summary>Odd head counts, GQA (3 heads over 1 kv head), LayerNorm, untied head, kernel 4 with a conv bias, GEGLU,
    /// window 8, linear-attention head size 24/5 = 4 (heads·headSize ≠ d), rotary on half the head, 1/(layer+1) scale.</summary>
    private static readonly BasedSpec s_odd = new()
    {
        D = 24, Heads = 3, KvHeads = 1, Layers = 4, Alt = [1], Alt2 = [2, 3], Rms = false, Activation = "geglu", Tied = false,
        RotaryFraction = 0.5, ScaleInverse = true, MlpBias = true, QkvBias = true, OutBias = true,
        Expand = 3, Kernel = 4, ConvBias = true, ConvTapBias = true, LinHeads = 5, Feature = 3, Window = 8, Seed = 1,
    };

    /// <summary>Five heads of 8, interleaved rotary, odd window 7 (ring of 4), position embeddings, plain GELU MLP,
    /// linear attention with explicit head_dim 7, no conv biases, vocabulary padded 50 → 64.</summary>
    private static readonly BasedSpec s_wide = new()
    {
        Vocab = 50, PadMultiple = 16, D = 40, Heads = 5, Layers = 5, Alt = [0, 3], Alt2 = [1, 4], Rms = true, Activation = "gelu",
        Inner = 56, MaxPositions = 80, RotaryFraction = 1.0, Interleaved = true, Expand = 2, Kernel = 3, ConvBias = false,
        LinHeads = 2, Feature = 5, LinHeadDim = 7, Window = 7, Seed = 2,
    };

    /// <summary>GLU MLP, kernel 2, no rotary, a window wider than short sequences, kv heads given explicitly.</summary>
    private static readonly BasedSpec s_small = new()
    {
        D = 16, Heads = 2, KvHeads = 2, Layers = 3, Alt = [2], Alt2 = [1], Activation = "glu", RotaryFraction = 0, Kernel = 2,
        LinHeads = 4, Feature = 2, Window = 40, Seed = 3,
    };

    private static BasedSpec Spec(string name) => name switch { "odd" => s_odd, "wide" => s_wide, _ => s_small };

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (string spec in new[] { "odd", "wide", "small" })
            foreach (int t in new[] { 1, 7, 64, 65 }) data.Add(spec, t);
        return data;
    }

    private static (BasedModel Model, string Dir, Dictionary<string, (float[] Data, long[] Shape)> Weights) Build(BasedSpec spec, int threads = 1)
    {
        var weights = spec.Weights();
        string dir = spec.WriteCheckpoint(weights);
        var model = (BasedModel)ModelLoader.Load(dir, new ModelOptions { PrefillBlock = Block, Threads = threads });
        return (model, dir, weights);
    }

    private static int[] RandomTokens(int count, int vocab, int seed)
    {
        var rng = new Random(seed);
        var tokens = new int[count];
        for (int i = 0; i < count; i++) tokens[i] = rng.Next(vocab);
        return tokens;
    }

    private void AssertStatesClose(BasedModel model, float[] expected, float[] actual, string what)
    {
        Assert.Equal(model.Position(expected), model.Position(actual));
        for (int l = 0; l < model.Config.LayerCount; l++)
        {
            int o = model.LayerStateOffset(l), n = model.LayerStateLength(l);
            if (n == 0) continue;
            BasedTestSupport.AssertClose(expected.AsSpan(o, n), actual.AsSpan(o, n), 2e-5, $"{what} state of layer {l}", n, output);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StepPrefillAndSplits_Agree_When_RandomConfig(string specName, int tokenCount)
    {
        var spec = Spec(specName);
        // 3 workers: prefill chunks split heads unevenly (and leave a worker idle when there are 2 heads).
        var (model, dir, _) = Build(spec, threads: 3);
        try
        {
            using var scratch = model.CreateScratch();
            int v = model.LogitsLength;
            var tokens = RandomTokens(tokenCount, spec.Vocab, 7 + tokenCount);

            // T calls to Step.
            var stepState = new float[model.StateLength];
            model.InitState(stepState);
            var stepLogits = new float[tokenCount * v];
            for (int t = 0; t < tokenCount; t++) model.Step(tokens[t], stepState, stepLogits.AsSpan(t * v, v), scratch);

            // One Prefill of T tokens (chunks of 16).
            var preState = new float[model.StateLength];
            model.InitState(preState);
            var preLogits = new float[tokenCount * v];
            model.Prefill(tokens, preState, preLogits, scratch);
            BasedTestSupport.AssertClose(stepLogits, preLogits, 2e-5, $"{specName} T={tokenCount} prefill vs step logits", v, output);
            AssertStatesClose(model, stepState, preState, "prefill vs step");

            // Mixed: prefill a third, two steps, a 17-token prefill across a chunk boundary, then the rest.
            var mixState = new float[model.StateLength];
            model.InitState(mixState);
            var mixLogits = new float[tokenCount * v];
            int at = 0;
            foreach (var (steps, length) in new[] { (false, tokenCount / 3), (true, 1), (true, 1), (false, 17), (false, int.MaxValue) })
            {
                int n = Math.Min(length, tokenCount - at);
                if (n <= 0) continue;
                if (steps) model.Step(tokens[at], mixState, mixLogits.AsSpan(at * v, v), scratch);
                else model.Prefill(tokens.AsSpan(at, n), mixState, mixLogits.AsSpan(at * v, n * v), scratch);
                at += n;
            }
            Assert.Equal(tokenCount, at);
            BasedTestSupport.AssertClose(stepLogits, mixLogits, 2e-5, $"{specName} T={tokenCount} mixed vs step logits", v, output);
            AssertStatesClose(model, stepState, mixState, "mixed vs step");
            Assert.Equal(tokenCount, model.Position(mixState));
        }
        finally
        {
            model.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("odd")]
    [InlineData("wide")]
    [InlineData("small")]
    public void Prefill_MatchesNaiveDoubleReference_When_SequenceLongerThanWindow(string specName)
    {
        var spec = Spec(specName);
        var (model, dir, weights) = Build(spec, threads: 2);
        try
        {
            using var scratch = model.CreateScratch();
            var tokens = RandomTokens(65, spec.Vocab, 99);
            var state = new float[model.StateLength];
            model.InitState(state);
            var logits = new float[tokens.Length * model.LogitsLength];
            model.Prefill(tokens, state, logits, scratch);
            var expected = BasedNaiveReference.Logits(spec, weights, tokens);
            BasedTestSupport.AssertClose(expected, logits, 1e-4, $"{specName} logits vs naive double reference", model.LogitsLength, output);
        }
        finally
        {
            model.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string GoldenDirectory => Path.Combine(BasedTestSupport.SharedDirectory(), "golden", "based-tiny");

    [Fact]
    public void Step_AllocatesNothing_When_Warm()
    {
        using var model = (ILanguageModel)ModelLoader.Load(GoldenDirectory, new ModelOptions { Threads = 1 });
        using var scratch = model.CreateScratch();
        var state = new float[model.StateLength];
        var logits = new float[model.LogitsLength];
        model.InitState(state);
        for (int i = 0; i < 40; i++) model.Step(i % model.VocabSize, state, logits, scratch);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) model.Step((i * 7) % model.VocabSize, state, logits, scratch);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(1040, model.Position(state));
    }

    [Fact]
    public void StateLength_IsWhatConfigImplies_When_GoldenConfig()
    {
        using var model = (BasedModel)ModelLoader.Load(GoldenDirectory, new ModelOptions { Threads = 1 });
        // based-tiny: d 128; BaseConv expand 4 (inner 256), k 3; LinearAttention 4 heads, f 16 (D = 1 + 16 + 136 = 153),
        // head 32; SlidingAttention window 32 (ring 17), 4 heads of 32. Layers: conv, linear, sliding, conv, linear, sliding.
        int conv = 2 * 256, linear = 4 * (153 * 32 + 153), sliding = 2 * (32 / 2 + 1) * 4 * 32;
        Assert.Equal(conv, model.LayerStateLength(0));
        Assert.Equal(linear, model.LayerStateLength(1));
        Assert.Equal(sliding, model.LayerStateLength(2));
        Assert.Equal(17, model.LayerWindowPositions(2));
        Assert.Equal(17, model.LayerWindowPositions(5));
        Assert.Equal(0, model.LayerWindowPositions(0));
        Assert.Equal(2 + 2 * (conv + linear + sliding), model.StateLength);
        Assert.Equal(model.StateLength * 4L, model.Info.StateBytes);

        using var scratch = model.CreateScratch();
        int before = model.StateLength;
        var state = new float[before];
        model.InitState(state);
        var tokens = RandomTokens(1000, model.VocabSize, 5);
        model.Prefill(tokens.AsSpan(0, 600), state, default, scratch);
        foreach (int t in tokens.AsSpan(600)) model.Step(t, state, default, scratch);
        Assert.Equal(before, model.StateLength);
        Assert.Equal(1000, model.Position(state));
    }

    [Fact]
    public void WindowRing_HoldsHalfWindowPlusOne_When_RandomConfig()
    {
        var (model, dir, _) = Build(s_odd);
        try
        {
            // window 8 → ring of 5 slots of 1 kv head × 8 dims, keys then values.
            Assert.Equal(5, model.LayerWindowPositions(2));
            Assert.Equal(2 * 5 * 1 * 8, model.LayerStateLength(2));
            Assert.Equal(2 * 5 * 1 * 8, model.LayerStateLength(3));
            // position + conv (k−1 = 3 rows of inner 36) + Taylor (5 heads × (D = 1 + 3 + 6) × (head 4 + 1)) + two rings.
            Assert.Equal(2 + 3 * 36 + 5 * (1 + 3 + 6) * (4 + 1) + 2 * (2 * 5 * 1 * 8), model.StateLength);
        }
        finally
        {
            model.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string GoldenConfig => File.ReadAllText(Path.Combine(GoldenDirectory, "config.json"));

    [Fact]
    public void FromJson_ReadsGoldenConfig_When_Valid()
    {
        var c = BasedConfig.FromJson(GoldenConfig, "config.json");
        Assert.Equal(504, c.PaddedVocabSize);
        Assert.Equal(0, c.PositionEmbeddingCount);
        Assert.Equal(256, c.MlpHiddenSize);
        Assert.Equal(32, c.RotaryDim);
        Assert.Equal(BasedMixerKind.Convolution, c.MixerFor(0).Kind);
        Assert.Equal(BasedMixerKind.LinearAttention, c.MixerFor(1).Kind);
        Assert.Equal(BasedMixerKind.SlidingAttention, c.MixerFor(2).Kind);
        Assert.Equal(3, c.MixerFor(0).KernelSize);
        Assert.Equal(32, c.MixerFor(2).WindowSize);
    }

    [Fact]
    public void FromJson_UsesReferenceDefaults_When_KeysAbsent()
    {
        var c = BasedConfig.FromJson("""
            {"vocab_size": 10, "n_embd": 8, "n_head": 2, "n_layer": 1,
             "mixer": {"_target_": "based.models.mixers.convolution.BaseConv", "l_max": 16}}
            """, "c.json");
        Assert.Equal(1, c.PadVocabSizeMultiple);
        Assert.False(c.RmsNorm);
        Assert.Equal("gelu_new", c.Activation);
        Assert.Equal(32, c.MlpHiddenSize);          // Mlp: 4·d
        Assert.Equal(1024, c.PositionEmbeddingCount); // GPT2Config n_positions default, aliased
        Assert.True(c.TieWordEmbeddings && c.MlpFc1Bias && c.QkvBias && c.ScaleAttentionWeights);
        Assert.Equal(3, c.MixerFor(0).KernelSize);
        Assert.Equal(2, c.MixerFor(0).ExpandProjection);
        Assert.True(c.MixerFor(0).UseBias);
    }

    [Theory]
    [InlineData("n_embd")]
    [InlineData("vocab_size")]
    public void FromJson_Throws_When_RequiredKeyMissing(string key)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(GoldenConfig)!.AsObject();
        node.Remove(key);
        var ex = Assert.Throws<ModelConfigException>(() => BasedConfig.FromJson(node.ToJsonString(), "/x/config.json"));
        Assert.Contains($"required key '{key}' is missing", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/x/config.json", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("n_embd", "\"128\"", "n_embd")]
    [InlineData("rms_norm", "1", "rms_norm")]
    [InlineData("mixer", "{\"_target_\": \"x.BaseConv\", \"expand_proj\": \"four\"}", "mixer.expand_proj")]
    public void FromJson_Throws_When_KeyHasWrongType(string key, string value, string reported)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(GoldenConfig)!.AsObject();
        node[key] = System.Text.Json.Nodes.JsonNode.Parse(value);
        var ex = Assert.Throws<ModelConfigException>(() => BasedConfig.FromJson(node.ToJsonString(), "/x/config.json"));
        Assert.Contains($"key '{reported}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("wrong type", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("alt_mixer_2", "{\"_target_\": \"based.models.mixers.mha.MHA\", \"num_heads\": 4}", "alt_mixer_2._target_")]
    [InlineData("alt_mixer", "null", "'alt_mixer'")]
    [InlineData("alt_mixer", "{\"_target_\": \"based.models.mixers.linear_attention.LinearAttention\", \"parallel_implementation\": \"tk\", \"feature_map\": {\"_target_\": \"TaylorExp\", \"input_dim\": 16}}", "parallel_implementation")]
    [InlineData("alt_mixer", "{\"_target_\": \"based.models.mixers.linear_attention.LinearAttention\", \"feature_dim\": 8, \"feature_map\": {\"_target_\": \"TaylorExp\", \"input_dim\": 16}}", "input_dim")]
    [InlineData("n_head", "3", "n_head")]
    [InlineData("activation_function", "\"mish\"", "activation_function")]
    [InlineData("rotary_emb_fraction", "0.3", "rotary_emb_fraction")]
    public void FromJson_Throws_When_ValueUnsupported(string key, string value, string mentioned)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(GoldenConfig)!.AsObject();
        node[key] = System.Text.Json.Nodes.JsonNode.Parse(value);
        var ex = Assert.Throws<ModelConfigException>(() => BasedConfig.FromJson(node.ToJsonString(), "/x/config.json"));
        Assert.Contains(mentioned, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Throws_When_TensorShapeDisagreesWithConfig()
    {
        var spec = s_small with { Kernel = 3 };
        var weights = spec.Weights();
        string dir = spec.WriteCheckpoint(weights);
        try
        {
            // config says kernel 4; the file's conv weights have 3 taps.
            string json = (spec with { Kernel = 4 }).ConfigJson();
            File.WriteAllText(Path.Combine(dir, "config.json"), json);
            var ex = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(dir));
            Assert.Contains("transformer.layers.0.mixer.conv.conv.weight", ex.Message, StringComparison.Ordinal);
            Assert.Contains("[16, 1, 3]", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Step_Throws_When_ArgumentsWrong()
    {
        using var model = (ILanguageModel)ModelLoader.Load(GoldenDirectory, new ModelOptions { Threads = 1 });
        using var scratch = model.CreateScratch();
        var state = new float[model.StateLength];
        model.InitState(state);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Step(model.LogitsLength, state, default, scratch));
        Assert.Throws<ArgumentException>(() => model.Step(1, new float[3], default, scratch));
        Assert.Throws<ArgumentException>(() => model.Step(1, state, new float[7], scratch));
        Assert.Throws<ArgumentException>(() => model.Prefill([1, 2], state, new float[3 * model.LogitsLength], scratch));
    }
}
