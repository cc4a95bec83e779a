using System.Text.Json;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;

namespace EdgeRuntime.Tests.Formats;

public class GgufTokenizerTests
{
    private static Dictionary<string, GgufValue> Entries(string dir, string config = """{"bos_token_id": 1, "eos_token_id": 2}""")
    {
        using var doc = JsonDocument.Parse(config);
        return GgufTokenizer.FromDirectory(dir, doc.RootElement).Entries.ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    [Fact]
    public void VocabAndMerges_BecomeGpt2Tokens_InIdOrder_WithGapsPadded()
    {
        using var files = new GgufTestFiles();
        File.WriteAllText(files.PathOf("vocab.json"), """{"b": 1, "a": 0, "ab": 2, "Ġx": 4}""");
        File.WriteAllText(files.PathOf("merges.txt"), "#version: 0.2\na b\nĠ x\n\n");
        var e = Entries(files.Directory);
        Assert.Equal("gpt2", (string)e["tokenizer.ggml.model"].Value);
        Assert.Equal(new[] { "a", "b", "ab", "[PAD3]", "Ġx" }, (string[])e["tokenizer.ggml.tokens"].Value);
        Assert.Equal(new[] { "a b", "Ġ x" }, (string[])e["tokenizer.ggml.merges"].Value);
        Assert.Equal(1u, (uint)e["tokenizer.ggml.bos_token_id"].Value);
        Assert.Equal(2u, (uint)e["tokenizer.ggml.eos_token_id"].Value);
    }

    [Fact]
    public void Gpt2Vocabulary_FromSharedTokenizer_Has50257TokensInIdOrder()
    {
        string dir = Path.Combine(Path.GetDirectoryName(GgufTestFiles.GoldenDirectory)!, "tokenizers", "gpt2");
        var e = Entries(dir, "{}");
        var tokens = (string[])e["tokenizer.ggml.tokens"].Value;
        Assert.Equal(50257, tokens.Length);
        using var vocab = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "vocab.json")));
        foreach (var p in vocab.RootElement.EnumerateObject()) Assert.Equal(p.Name, tokens[p.Value.GetInt32()]);
        Assert.Equal(50000, ((string[])e["tokenizer.ggml.merges"].Value).Length);
        Assert.False(e.ContainsKey("tokenizer.ggml.bos_token_id"));
    }

    [Fact]
    public void TokenizerJsonBpe_WithAddedTokens_BecomesGpt2Tokens()
    {
        using var files = new GgufTestFiles();
        File.WriteAllText(files.PathOf("tokenizer.json"), """
            {"added_tokens": [{"id": 3, "content": "<|end|>"}],
             "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", ["ab", "b"]]}}
            """);
        var e = Entries(files.Directory);
        Assert.Equal(new[] { "a", "b", "ab", "<|end|>" }, (string[])e["tokenizer.ggml.tokens"].Value);
        Assert.Equal(new[] { "a b", "ab b" }, (string[])e["tokenizer.ggml.merges"].Value);
    }

    [Fact]
    public void SentencePieceModel_BecomesLlamaTokensScoresAndTypes()
    {
        using var files = new GgufTestFiles();
        var proto = new List<byte>();
        void Piece(string text, float? score, int? type)
        {
            var m = new List<byte> { 0x0A };                         // field 1 (piece), wire type 2
            var t = System.Text.Encoding.UTF8.GetBytes(text);
            m.Add((byte)t.Length); m.AddRange(t);
            if (score is float s) { m.Add(0x15); m.AddRange(BitConverter.GetBytes(s)); }  // field 2, fixed32
            if (type is int ty) { m.Add(0x18); m.Add((byte)ty); }   // field 3, varint
            proto.Add(0x0A); proto.Add((byte)m.Count); proto.AddRange(m);  // ModelProto field 1
        }
        Piece("<unk>", 0f, 2);
        Piece("▁the", -1.5f, null);                                    // type absent -> NORMAL (1)
        proto.AddRange(new byte[] { 0x12, 0x03, 0x08, 0x96, 0x01 });  // trainer_spec (field 2) to skip
        Piece("<0x0A>", 0f, 6);
        File.WriteAllBytes(files.PathOf("tokenizer.model"), proto.ToArray());
        var e = Entries(files.Directory);
        Assert.Equal("llama", (string)e["tokenizer.ggml.model"].Value);
        Assert.Equal(new[] { "<unk>", "▁the", "<0x0A>" }, (string[])e["tokenizer.ggml.tokens"].Value);
        Assert.Equal(new[] { 0f, -1.5f, 0f }, (float[])e["tokenizer.ggml.scores"].Value);
        Assert.Equal(new[] { 2, 1, 6 }, (int[])e["tokenizer.ggml.token_type"].Value);
    }

    [Fact]
    public void MalformedSentencePiece_IsRejected_NamingTheFile()
    {
        using var files = new GgufTestFiles();
        File.WriteAllBytes(files.PathOf("tokenizer.model"), [0x0A, 0x7F, 0x01]);
        var ex = Assert.Throws<ModelFormatException>(() => Entries(files.Directory));
        Assert.Contains("tokenizer.model", ex.Message);
    }
}
