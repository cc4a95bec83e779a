using EdgeRuntime.Models;
using EdgeRuntime.Models.Families.Based;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Sessions;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Families;

/// <summary>based-tiny against the reference implementation's logits (../shared/golden/based-tiny), for every split between prefill and steps.</summary>
public sealed class BasedGoldenTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    private sealed class Golden
    {
        public Golden()
        {
            Directory = Path.Combine(BasedTestSupport.SharedDirectory(), "golden", "based-tiny");
            using var f = new SafetensorsFile(Path.Combine(Directory, "golden.safetensors"));
            Tokens = f.ReadI32("tokens");
            Logits = f.ReadF32("logits");
            GenTokens = f.ReadI32("gen_tokens");
            GenLogits = f.ReadF32("gen_logits");
            PenalizedTokens = f.ReadI32("penalized_gen_tokens");
            PenalizedLogits = f.ReadF32("penalized_gen_logits");
            PromptLength = int.Parse(f.Metadata["prompt_len"], System.Globalization.CultureInfo.InvariantCulture);
            Penalty = double.Parse(f.Metadata["repetition_penalty"], System.Globalization.CultureInfo.InvariantCulture);
            Width = Logits.Length / Tokens.Length;
        }

        public string Directory { get; }
        public int[] Tokens { get; }
        public float[] Logits { get; }
        public int[] GenTokens { get; }
        public float[] GenLogits { get; }
        public int[] PenalizedTokens { get; }
        public float[] PenalizedLogits { get; }
        public int PromptLength { get; }
        public double Penalty { get; }
        public int Width { get; }
    }

    private static readonly Lazy<Golden> s_golden = new(() => new Golden());

    private static ILanguageModel Load(int prefillBlock = 256, int threads = 0) =>
        (ILanguageModel)ModelLoader.Load(s_golden.Value.Directory, new ModelOptions { PrefillBlock = prefillBlock, Threads = threads });

    [Fact]
    public void Load_ReportsShapes_When_GoldenConfig()
    {
        var g = s_golden.Value;
        using var model = Load();
        Assert.Equal(500, model.VocabSize);
        Assert.Equal(g.Width, model.LogitsLength);
        Assert.Equal("based", model.Info.Family);
    }

    [Theory]
    [InlineData(256)]
    [InlineData(16)]
    [InlineData(48)]
    public void Prefill_MatchesGolden_When_WholeSequenceInOneCall(int prefillBlock)
    {
        var g = s_golden.Value;
        using var model = Load(prefillBlock);
        using var scratch = model.CreateScratch();
        var state = new float[model.StateLength];
        model.InitState(state);
        var logits = new float[g.Tokens.Length * g.Width];
        model.Prefill(g.Tokens, state, logits, scratch);
        BasedTestSupport.AssertClose(g.Logits, logits, Tolerance, "logits (one prefill)", g.Width, output);
        Assert.Equal(g.Tokens.Length, model.Position(state));
    }

    [Theory]
    [InlineData(0)]    // one Step per token
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(120)]  // prompt_len
    [InlineData(199)]
    public void StepAfterPrefill_MatchesGolden_When_SplitAt(int split)
    {
        var g = s_golden.Value;
        using var model = Load(prefillBlock: 64);
        using var scratch = model.CreateScratch();
        var state = new float[model.StateLength];
        model.InitState(state);
        var actual = new float[g.Tokens.Length * g.Width];
        if (split > 0)
        {
            // Last-token logits only: must equal row split-1.
            model.Prefill(g.Tokens.AsSpan(0, split), state, actual.AsSpan((split - 1) * g.Width, g.Width), scratch);
            BasedTestSupport.AssertClose(g.Logits.AsSpan((split - 1) * g.Width, g.Width), actual.AsSpan((split - 1) * g.Width, g.Width),
                Tolerance, $"logits[{split - 1}] (prefill last)", g.Width, output);
        }
        for (int t = split; t < g.Tokens.Length; t++)
            model.Step(g.Tokens[t], state, actual.AsSpan(t * g.Width, g.Width), scratch);
        int from = Math.Max(0, split - 1) * g.Width;
        BasedTestSupport.AssertClose(g.Logits.AsSpan(from), actual.AsSpan(from), Tolerance, $"logits (split {split})", g.Width, output);
    }

    [Fact]
    public void Prefill_MatchesGolden_When_CalledRepeatedlyWith37Tokens()
    {
        var g = s_golden.Value;
        using var model = Load(prefillBlock: 16);
        using var scratch = model.CreateScratch();
        var state = new float[model.StateLength];
        model.InitState(state);
        var actual = new float[g.Tokens.Length * g.Width];
        for (int start = 0; start < g.Tokens.Length; start += 37)
        {
            int n = Math.Min(37, g.Tokens.Length - start);
            model.Prefill(g.Tokens.AsSpan(start, n), state, actual.AsSpan(start * g.Width, n * g.Width), scratch);
        }
        BasedTestSupport.AssertClose(g.Logits, actual, Tolerance, "logits (37-token prefills)", g.Width, output);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Greedy_MatchesGolden_When_DecodingAfterPrompt(bool penalized)
    {
        var g = s_golden.Value;
        int[] expectedTokens = penalized ? g.PenalizedTokens : g.GenTokens;
        float[] expectedLogits = penalized ? g.PenalizedLogits : g.GenLogits;
        using var model = Load();
        using var scratch = model.CreateScratch();
        var state = new float[model.StateLength];
        model.InitState(state);
        var logits = new float[g.Width];
        var history = new List<int>(g.Tokens.AsSpan(0, g.PromptLength).ToArray());
        model.Prefill(g.Tokens.AsSpan(0, g.PromptLength), state, logits, scratch);
        var chosen = new int[expectedTokens.Length];
        for (int i = 0; i < expectedTokens.Length; i++)
        {
            BasedTestSupport.AssertClose(expectedLogits.AsSpan(i * g.Width, g.Width), logits, Tolerance, $"generation logits[{i}]", g.Width, output);
            var scores = logits.AsSpan(0, model.VocabSize).ToArray();
            if (penalized)
                foreach (int t in new HashSet<int>(history))
                    scores[t] = scores[t] > 0 ? (float)(scores[t] / g.Penalty) : (float)(scores[t] * g.Penalty);
            int next = 0;
            for (int v = 1; v < scores.Length; v++) if (scores[v] > scores[next]) next = v;
            chosen[i] = next;
            Assert.True(next == expectedTokens[i], $"generation step {i}: expected token {expectedTokens[i]}, got {next}");
            history.Add(next);
            model.Step(next, state, logits, scratch);
        }
        Assert.Equal(expectedTokens, chosen);
    }
}
