using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Tokenizers;
using EdgeRuntime.Tests.Formats;

namespace EdgeRuntime.Tests.Tokenizers;

/// <summary>A GGUF file alone carries the tokenizer: tokenizer.ggml.* written by the converter and read back, checked
/// against the independent references (gpt-3-encoder's ids for GPT-2, spm_encode/spm_decode for SentencePiece).</summary>
public sealed class GgufTextTokenizerTests
{
    [Fact]
    public void Gpt2FromGguf_EncodesLikeGptThreeEncoder()
    {
        using var files = new GgufTestFiles();
        string dir = Checkpoint(files, "gpt2", """{"model_type": "transnormer", "decoder_embed_dim": 32}""");
        File.Copy(Path.Combine(TokenizerTestData.Gpt2Directory, "vocab.json"), Path.Combine(dir, "vocab.json"));
        File.Copy(Path.Combine(TokenizerTestData.Gpt2Directory, "merges.txt"), Path.Combine(dir, "merges.txt"));
        string gguf = files.PathOf("gpt2.gguf");
        GgufConverter.Convert(dir, gguf, GgufFileType.AllF32);
        File.Delete(Path.Combine(dir, "vocab.json")); // only the GGUF file remains as a source

        var t = TokenizerLoader.FromDirectory(gguf);
        Assert.IsType<ByteLevelBpeTokenizer>(t);
        Assert.Equal(50257, t.VocabSize);
        Assert.Equal(50256, t.EosId); // <|endoftext|>, as for vocab.json + merges.txt
        foreach (var (text, expected, _) in TokenizerTestData.Cases(Path.Combine(TokenizerTestData.Gpt2Directory, "golden.json")))
        {
            int[] actual = t.Encode(text);
            Assert.True(expected.SequenceEqual(actual), $"text {text}\nexpected {TokenizerTestData.Describe(expected)}\nactual   {TokenizerTestData.Describe(actual)}");
            Assert.Equal(text, t.Decode(actual));
        }
    }

    [Fact]
    public void SentencePieceFromGguf_EncodesAndDecodesLikeSpm()
    {
        using var files = new GgufTestFiles();
        string dir = Checkpoint(files, "spm", """{"model_type": "transnormer", "decoder_embed_dim": 32, "bos_token_id": 1, "eos_token_id": 2}""");
        File.Copy(TokenizerTestData.SpmModelPath, Path.Combine(dir, "tokenizer.model"));
        string gguf = files.PathOf("spm.gguf");
        GgufConverter.Convert(dir, gguf, GgufFileType.AllF32);

        var t = TokenizerLoader.FromDirectory(gguf);
        Assert.IsType<SentencePieceTextTokenizer>(t);
        Assert.Equal(400, t.VocabSize);
        Assert.Equal(1, t.BosId);
        Assert.Equal(2, t.EosId);
        string expectedPath = Path.Combine(TokenizerTestData.SpmDirectory, "expected.json");
        int cases = 0;
        foreach (var (text, expected, c) in TokenizerTestData.Cases(expectedPath))
        {
            int[] actual = t.Encode(text);
            Assert.True(expected.SequenceEqual(actual), $"text {text}\nexpected {TokenizerTestData.Describe(expected)}\nactual   {TokenizerTestData.Describe(actual)}");
            Assert.Equal(c.GetProperty("pieces").EnumerateArray().Select(e => e.GetString()!), actual.Select(t.TokenPiece));
            Assert.Equal(c.GetProperty("decoded").GetString(), t.Decode(expected));
            cases++;
        }
        Assert.True(cases > 0);
    }

    [Fact]
    public void GgufWithoutTokenizer_FallsBackToFilesBesideIt_ElseNamesTheFile()
    {
        using var files = new GgufTestFiles();
        string dir = Checkpoint(files, "none", """{"model_type": "transnormer", "decoder_embed_dim": 32}""");
        string gguf = Path.Combine(dir, "model.gguf");
        GgufConverter.Convert(dir, gguf, GgufFileType.AllF32);
        var ex = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.FromDirectory(gguf));
        Assert.Contains("has no tokenizer.ggml.* metadata", ex.Message);
        File.Copy(TokenizerTestData.SpmModelPath, Path.Combine(dir, "tokenizer.model"));
        Assert.IsType<SentencePieceTextTokenizer>(TokenizerLoader.FromDirectory(gguf));
    }

    [Fact]
    public void OneGgufFile_HoldsModelAndTokenizer_ForGeneration()
    {
        // transnormer-tiny (vocab 512) with the 400-piece SentencePiece model: every piece id is a valid model token.
        using var files = new GgufTestFiles();
        string dir = Path.Combine(files.Directory, "tn");
        Directory.CreateDirectory(dir);
        foreach (string f in new[] { "config.json", "model.safetensors" })
            File.Copy(Path.Combine(TestPaths.Golden("transnormer-tiny"), f), Path.Combine(dir, f));
        File.Copy(TokenizerTestData.SpmModelPath, Path.Combine(dir, "tokenizer.model"));
        string gguf = files.PathOf("tn-q8_0.gguf");
        GgufConverter.Convert(dir, gguf, GgufFileType.MostlyQ8_0);
        Directory.Delete(dir, recursive: true);

        using var model = (ILanguageModel)ModelLoader.Load(gguf, new ModelOptions { Threads = 1 });
        var tokenizer = TokenizerLoader.FromDirectory(gguf);
        int[] prompt = tokenizer.Encode("The pump station runs day and night.");
        Assert.NotEmpty(prompt);
        var state = new float[model.StateLength];
        var logits = new float[model.LogitsLength];
        using var scratch = model.CreateScratch();
        model.InitState(state);
        model.Prefill(prompt, state, logits, scratch);
        var generated = new List<int>();
        for (int i = 0; i < 8; i++)
        {
            int next = 0;
            for (int v = 1; v < tokenizer.VocabSize; v++) if (logits[v] > logits[next]) next = v;
            generated.Add(next);
            model.Step(next, state, logits, scratch);
        }
        Assert.All(logits, x => Assert.True(float.IsFinite(x)));
        string text = tokenizer.Decode(generated.ToArray(), skipSpecial: false);
        Assert.NotNull(text);
    }

    /// <summary>A minimal checkpoint directory (one 3×32 embedding) with the given config.</summary>
    private static string Checkpoint(GgufTestFiles files, string name, string config)
    {
        string dir = Path.Combine(files.Directory, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), config);
        var rng = new Random(42);
        var w = Enumerable.Range(0, 3 * 32).Select(_ => (float)rng.NextDouble()).ToArray();
        new SafetensorsWriter().Add("model.embed_tokens.weight", w, 3, 32).Save(Path.Combine(dir, "model.safetensors"));
        return dir;
    }
}
