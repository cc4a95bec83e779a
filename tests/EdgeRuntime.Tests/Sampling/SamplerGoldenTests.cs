using System.Globalization;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Sampling;
using EdgeRuntime.Tests.Tokenizers;

namespace EdgeRuntime.Tests.Sampling;

/// <summary>
/// The goldens record, per generated token, the raw logits that chose it; greedy choice with the Hugging Face penalty
/// (computed by the reference in Python) must pick the same ids from those logits. Runs without any model family.
/// </summary>
public class SamplerGoldenTests
{
    [Theory]
    [InlineData("based-tiny", false)]
    [InlineData("based-tiny", true)]
    [InlineData("transnormer-tiny", false)]
    [InlineData("transnormer-tiny", true)]
    public void Sample_ChoosesGoldenTokens_When_GivenGoldenLogits(string name, bool penalized)
    {
        string dir = Path.Combine(TokenizerTestData.SharedDirectory, "golden", name);
        using var golden = new SafetensorsFile(Path.Combine(dir, "golden.safetensors"));
        int[] tokens = golden.ReadI32("tokens");
        int promptLength = int.Parse(golden.Metadata["prompt_len"], CultureInfo.InvariantCulture);
        int[] expected = golden.ReadI32(penalized ? "penalized_gen_tokens" : "gen_tokens");
        float[] logits = golden.ReadF32(penalized ? "penalized_gen_logits" : "gen_logits");
        int width = logits.Length / expected.Length;
        int vocab = ReadVocabSize(Path.Combine(dir, "config.json"));
        float penalty = penalized ? float.Parse(golden.Metadata["repetition_penalty"], CultureInfo.InvariantCulture) : 1f;

        var sampler = new Sampler(vocab, SamplerOptions.Greedy with { RepetitionPenalty = penalty });
        sampler.Accept(tokens.AsSpan(0, promptLength));
        for (int g = 0; g < expected.Length; g++)
        {
            int actual = sampler.Sample(logits.AsSpan(g * width, width));
            Assert.True(actual == expected[g], $"{name} penalized={penalized}: step {g} chose {actual}, expected {expected[g]}");
            sampler.Accept(actual);
        }
    }

    private static int ReadVocabSize(string configPath)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(configPath));
        return doc.RootElement.GetProperty("vocab_size").GetInt32();
    }
}
