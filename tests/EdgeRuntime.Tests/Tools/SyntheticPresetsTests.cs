using EdgeRuntime.Models;
using EdgeRuntime.Models.Families.Aaren;
using EdgeRuntime.Models.Families.Based;
using EdgeRuntime.Models.Families.TransNormer;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Tools.Commands;
using EdgeRuntime.Models.Synthesis;

namespace EdgeRuntime.Tests.Tools;

/// <summary><c>edgefw synth</c>: every preset writes a checkpoint the loader accepts, that runs without NaN, in the published
/// dimensions. Expected numbers are copied here from the published configs (not from the presets under test):
/// HazyResearch/based train/configs/experiment/reference/based-{360m,1b}.yaml, huggingface.co/OpenNLPLab/TransNormerLLM-1B
/// config.json and the 385M defaults of its configuration_transnormer.py.</summary>
public sealed class SyntheticPresetsTests
{
    private sealed record BasedShape(int Hidden, int Layers, int[] Linear, int[] Sliding);

    private static readonly Dictionary<string, BasedShape> s_based = new()
    {
        ["based-360m"] = new(1024, 27, [1, 6, 11, 16, 21], [2, 7, 12, 17, 22]),
        ["based-1b"] = new(1792, 36, [1, 6, 11, 16, 21, 27, 33], [2, 7, 12, 17, 22, 28, 34]),
    };

    private static readonly Dictionary<string, (int Embed, int Layers, int Heads, int Glu)> s_transNormer = new()
    {
        ["transnormer-385m"] = (1024, 24, 8, 2816),
        ["transnormer-1b"] = (2048, 16, 16, 5632),
    };

    [Theory]
    [InlineData("based-360m")]
    [InlineData("based-1b")]
    public void BasedPresets_HaveThePublishedDimensions_AtFullDepth(string name)
    {
        var expected = s_based[name];
        var preset = SyntheticPresets.Find(name)!;
        Assert.Equal(expected.Layers, preset.LayerCount);
        var c = BasedConfig.FromJson(preset.ConfigJson(preset.LayerCount), name);
        Assert.Equal(expected.Hidden, c.HiddenSize);
        Assert.Equal(expected.Layers, c.LayerCount);
        Assert.Equal(16, c.HeadCount);
        Assert.Equal(50264, c.VocabSize);
        Assert.Equal(50264, c.PaddedVocabSize);
        Assert.Equal(2 * expected.Hidden, c.MlpHiddenSize);
        Assert.Equal("swiglu", c.Activation);
        Assert.True(c.RmsNorm);
        Assert.True(c.TieWordEmbeddings);
        for (int l = 0; l < expected.Layers; l++)
        {
            var m = c.MixerFor(l);
            var kind = Array.IndexOf(expected.Sliding, l) >= 0 ? BasedMixerKind.SlidingAttention
                : Array.IndexOf(expected.Linear, l) >= 0 ? BasedMixerKind.LinearAttention : BasedMixerKind.Convolution;
            Assert.Equal(kind, m.Kind);
            if (kind == BasedMixerKind.LinearAttention) { Assert.Equal(16, m.FeatureDim); Assert.Equal(16, m.HeadCount); }
            if (kind == BasedMixerKind.SlidingAttention) Assert.Equal(256, m.WindowSize);
            if (kind == BasedMixerKind.Convolution) { Assert.Equal(4, m.ExpandProjection); Assert.Equal(3, m.KernelSize); }
        }
        // Parameters, counted independently from the shapes: embedding + per-kind mixer + SwiGLU MLP + norms.
        long d = expected.Hidden, conv = 4 * d * d + 4 * d + 2 * d * 3 + d * 2 * d + d, linear = 2 * 256 * d + 2 * d * d, sliding = 4 * d * d;
        long mlp = 2 * 2 * d * d + d * 2 * d, norms = 2 * d;
        int nl = expected.Linear.Length, ns = expected.Sliding.Length, nc = expected.Layers - nl - ns;
        long total = 50264 * d + nc * conv + nl * linear + ns * sliding + expected.Layers * (mlp + norms) + d;
        Assert.Equal(total, preset.ParameterCount(preset.LayerCount));
    }

    [Theory]
    [InlineData("transnormer-385m")]
    [InlineData("transnormer-1b")]
    public void TransNormerPresets_HaveThePublishedDimensions_AtFullDepth(string name)
    {
        var (embed, layers, heads, glu) = s_transNormer[name];
        var preset = SyntheticPresets.Find(name)!;
        var c = TransNormerConfig.FromJson(preset.ConfigJson(preset.LayerCount), name);
        Assert.Equal((embed, layers, heads, embed, glu, 64000), (c.EmbedDim, c.LayerCount, c.HeadCount, c.HiddenDim, c.GluDim, c.VocabSize));
        Assert.True(c.UsesLrpe(0));
        Assert.All(Enumerable.Range(1, layers - 1), l => Assert.False(c.UsesLrpe(l)));
        Assert.Equal("swish", c.LinearActFun);
        long e = embed, perLayer = 4 * e * e + e * e + 3 * e * glu;
        Assert.Equal(64000 * e + layers * perLayer + e /* LRPE theta: heads·head_size */, preset.ParameterCount(layers));
    }

    [Theory]
    [InlineData("based-360m", 3)]   // 3 layers: conv, linear attention and sliding window all present
    [InlineData("based-1b", 3)]
    [InlineData("transnormer-385m", 2)]
    [InlineData("transnormer-1b", 2)]
    [InlineData("aaren-small", 2)]
    public void Synth_WritesALoadableCheckpoint_ThatRunsWithoutNaN(string name, int layers)
    {
        using var dir = TestPaths.NewTempDir();
        var output = new StringWriter();
        Assert.Equal(ExitCodes.Ok, SynthCommand.Run(name, dir.Path, layers, 7, output, new StringWriter()));
        Assert.Contains(name, output.ToString());

        using var model = ModelLoader.Load(dir.Path, new ModelOptions { Threads = 1, PrefillBlock = 8 });
        var state = new float[model.StateLength];
        model.InitState(state);
        using var scratch = model.CreateScratch();
        switch (model)
        {
            case ILanguageModel lm:
                {
                    var logits = new float[lm.LogitsLength];
                    lm.Prefill([1, 50, 1000, 20000, lm.VocabSize - 1, 3, 4, 5, 6, 7, 8], state, logits, scratch);
                    AssertFinite(logits, "prefill logits");
                    for (int t = 0; t < 3; t++)
                    {
                        lm.Step(100 + t, state, logits, scratch);
                        AssertFinite(logits, $"step {t} logits");
                    }
                    Assert.Equal(14, model.Position(state));
                    break;
                }
            case ISequenceModel sm:
                {
                    var inputs = Enumerable.Range(0, 11 * sm.InputLength).Select(i => (float)Math.Sin(i)).ToArray();
                    var outputs = new float[11 * sm.OutputLength];
                    sm.Prefill(inputs, state, outputs, scratch);
                    AssertFinite(outputs, "prefill outputs");
                    sm.Step(inputs.AsSpan(0, sm.InputLength), state, outputs.AsSpan(0, sm.OutputLength), scratch);
                    AssertFinite(outputs, "step outputs");
                    break;
                }
        }
        AssertFinite(state, "state");
        CheckLoadedDimensions(name, layers, model);
    }

    private static void CheckLoadedDimensions(string name, int layers, IModel model)
    {
        switch (model)
        {
            case BasedModel b:
                Assert.Equal((s_based[name].Hidden, layers, 50264), (b.Config.HiddenSize, b.Config.LayerCount, b.Config.VocabSize));
                Assert.Equal(256 / 2 + 1, b.LayerWindowPositions(2));   // the sliding layer keeps keys i − w/2 .. i
                Assert.Equal(BasedMixerKind.LinearAttention, b.Config.MixerFor(1).Kind);
                break;
            case TransNormerModel t:
                var (embed, _, heads, glu) = s_transNormer[name];
                Assert.Equal((embed, layers, heads, glu, 64000), (t.Config.EmbedDim, t.Config.LayerCount, t.Config.HeadCount, t.Config.GluDim, t.Config.VocabSize));
                break;
            case AarenModel a:
                // This project's sensor model (no published Aaren checkpoint), as documented in SyntheticPresets.
                Assert.Equal((16, 256, layers, 8, 1024, 16), (a.Config.InputSize, a.Config.HiddenSize, a.Config.LayerCount, a.Config.HeadCount, a.Config.MlpHiddenSize, a.Config.OutputSize));
                break;
            default:
                Assert.Fail($"unexpected model type {model.GetType().Name}");
                break;
        }
    }

    private static void AssertFinite(ReadOnlySpan<float> values, string what)
    {
        for (int i = 0; i < values.Length; i++)
            Assert.True(float.IsFinite(values[i]), $"{what}[{i}] = {values[i]}");
    }

    [Fact]
    public void Synth_RejectsALayerCountAboveThePublishedOne()
    {
        using var dir = TestPaths.NewTempDir();
        var error = new StringWriter();
        Assert.Equal(ExitCodes.Usage, SynthCommand.Run("based-360m", dir.Path, 28, 42, new StringWriter(), error));
        Assert.Contains("1..27", error.ToString());
        Assert.Equal(ExitCodes.Usage, SynthCommand.Run("no-such-preset", dir.Path, null, 42, new StringWriter(), error));
    }
}
