using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Generation;
using EdgeRuntime.Models.Sampling;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Tests.Tokenizers;

namespace EdgeRuntime.Tests.Generation;

/// <summary>
/// Greedy generation through <see cref="Generator"/> must reproduce the goldens' <c>gen_tokens</c> and, with a
/// Hugging Face repetition penalty of 1.5 over every earlier token (prompt included), <c>penalized_gen_tokens</c>
/// (../shared/golden/README.md). Needs the BASED and TransNormerLLM families.
/// </summary>
[Trait("Needs", "families")]
public class GoldenGenerationTests
{
    [Theory]
    [InlineData("based-tiny", false)]
    [InlineData("based-tiny", true)]
    [InlineData("transnormer-tiny", false)]
    [InlineData("transnormer-tiny", true)]
    public void Generator_ReproducesGoldenTokens_When_Greedy(string name, bool penalized)
    {
        string dir = Path.Combine(TokenizerTestData.SharedDirectory, "golden", name);
        int[] tokens, expected;
        int promptLength;
        float[] expectedLogits;
        float penalty = 1f;
        using (var golden = new SafetensorsFile(Path.Combine(dir, "golden.safetensors")))
        {
            tokens = golden.ReadI32("tokens");
            promptLength = int.Parse(golden.Metadata["prompt_len"], System.Globalization.CultureInfo.InvariantCulture);
            expected = golden.ReadI32(penalized ? "penalized_gen_tokens" : "gen_tokens");
            expectedLogits = golden.ReadF32(penalized ? "penalized_gen_logits" : "gen_logits");
            if (penalized) penalty = float.Parse(golden.Metadata["repetition_penalty"], System.Globalization.CultureInfo.InvariantCulture);
        }
        Assert.Equal(40, expected.Length);

        using var model = (ILanguageModel)ModelLoader.Load(dir);
        using var session = new InferenceSession(model);
        var options = new GeneratorOptions
        {
            Sampling = SamplerOptions.Greedy with { RepetitionPenalty = penalty },
            MaxTokens = expected.Length,
            StopOnEos = false,
        };
        var generator = new Generator(session, tokenizer: null, options);
        generator.AppendPrompt(tokens.AsSpan(0, promptLength));

        int width = model.LogitsLength;
        var actual = new List<int>();
        while (generator.TryNextToken(out int token, out _))
        {
            // Before stepping on, the session holds the logits that chose this token: report their error on a mismatch.
            int g = actual.Count;
            actual.Add(token);
            if (token != expected[g])
            {
                var want = expectedLogits.AsSpan(g * width, width);
                var got = session.Logits;
                double maxErr = 0, maxRef = 0;
                for (int i = 0; i < width; i++)
                {
                    maxErr = Math.Max(maxErr, Math.Abs(got[i] - want[i]));
                    maxRef = Math.Max(maxRef, Math.Abs(want[i]));
                }
                Assert.Fail($"{name} penalized={penalized}: token {g} is {token}, expected {expected[g]}; " +
                    $"logits max|err|/max|ref| = {maxErr / maxRef:E2}; tokens so far {TokenizerTestData.Describe([.. actual])}");
            }
        }
        Assert.Equal(expected, actual);
        Assert.Equal(FinishReason.Length, generator.FinishReason);
        Assert.Equal(new GenerationUsage(promptLength, expected.Length), generator.Usage);
    }
}
