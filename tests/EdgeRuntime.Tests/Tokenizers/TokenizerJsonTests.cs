using System.Text;
using System.Text.Json;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Tokenizers;

namespace EdgeRuntime.Tests.Tokenizers;

public sealed class TokenizerJsonTests : IDisposable
{
    private const string Gpt2Regex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    private readonly string _dir = Directory.CreateTempSubdirectory("edgert-tokjson-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Encode_MatchesGptThreeEncoder_When_Gpt2WrittenAsTokenizerJson(bool pairMerges, bool splitPreTokenizer)
    {
        string path = WriteGpt2TokenizerJson(pairMerges, splitPreTokenizer);
        var tokenizer = TokenizerLoader.FromDirectory(_dir);
        Assert.IsType<ByteLevelBpeTokenizer>(tokenizer);
        Assert.Equal(path, Path.Combine(_dir, "tokenizer.json"));
        foreach (var (text, expected, _) in TokenizerTestData.Cases(Path.Combine(TokenizerTestData.Gpt2Directory, "golden.json")))
        {
            int[] actual = tokenizer.Encode(text);
            Assert.True(expected.SequenceEqual(actual), $"text {text}\nexpected {TokenizerTestData.Describe(expected)}\nactual   {TokenizerTestData.Describe(actual)}");
            Assert.Equal(text, tokenizer.Decode(actual));
        }
        Assert.Equal(50256, tokenizer.EosId);
        Assert.True(tokenizer.IsSpecial(50256));
        Assert.Equal("<|endoftext|>", tokenizer.TokenPiece(50256));
    }

    [Fact]
    public void Encode_AppliesPairMerges_When_HandWrittenVocabulary()
    {
        // "ab ab" -> pieces "ab", "Ġab" by the two merges; ids read straight from the vocab below.
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), """
            {"added_tokens":[{"id":5,"content":"<eos>","special":true},{"id":6,"content":"<tool>","special":false}],
             "normalizer":null,
             "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},
             "model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"Ġ":3,"Ġab":4},"merges":[["a","b"],["Ġ","ab"]]}}
            """);
        var tokenizer = TokenizerLoader.FromDirectory(_dir);
        Assert.Equal(new[] { 2, 4 }, tokenizer.Encode("ab ab"));
        Assert.Equal(7, tokenizer.VocabSize);
        Assert.True(tokenizer.IsSpecial(5));
        Assert.False(tokenizer.IsSpecial(6));
        Assert.Equal("<tool>"u8.ToArray(), tokenizer.TokenBytes(6).ToArray());
        Assert.Equal("ab ab<tool>", tokenizer.Decode([2, 4, 5, 6]));
    }

    [Fact]
    public void Load_PrependsSpace_When_AddPrefixSpace()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), """
            {"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":true},
             "model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"Ġ":3,"Ġab":4},"merges":["a b","Ġ ab"]}}
            """);
        Assert.Equal(new[] { 4 }, TokenizerLoader.FromDirectory(_dir).Encode("ab"));
    }

    [Fact]
    public void Load_SaysUseTokenizerModel_When_MetaspaceBpe()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), """
            {"pre_tokenizer":{"type":"Metaspace","replacement":"▁"},
             "model":{"type":"BPE","byte_fallback":false,"vocab":{"a":0},"merges":[]}}
            """);
        var ex = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromDirectory(_dir));
        Assert.Contains("tokenizer.model", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_dir, "tokenizer.json"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FallsBackToTokenizerModel_When_JsonIsSentencePieceStyle()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), """
            {"pre_tokenizer":{"type":"Metaspace"},"model":{"type":"BPE","byte_fallback":true,"vocab":{"a":0},"merges":[]}}
            """);
        File.Copy(TokenizerTestData.SpmModelPath, Path.Combine(_dir, "tokenizer.model"));
        Assert.IsType<SentencePieceTextTokenizer>(TokenizerLoader.FromDirectory(_dir));
    }

    [Theory]
    [InlineData("""{"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":"0"},"merges":[]}}""", "'model.vocab'")]
    [InlineData("""{"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0},"merges":["ab"]}}""", "'model.merges[0]'")]
    [InlineData("""{"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"WordPiece","vocab":{"a":0}}}""", "'model.type'")]
    [InlineData("""{"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0}}}""", "'model.merges'")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}""", "'pre_tokenizer'")]
    [InlineData("""{"pre_tokenizer":{"type":"ByteLevel"},"added_tokens":[{"content":"x"}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}""", "'added_tokens[0].id'")]
    [InlineData("""{"pre_tokenizer":{"type":"ByteLevel"},"model":""", "not valid JSON")]
    public void Load_NamesFileAndKey_When_Malformed(string json, string expectedFragment)
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), json);
        var ex = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromDirectory(_dir));
        Assert.Contains(expectedFragment, ex.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.json", ex.Message, StringComparison.Ordinal);
    }

    private string WriteGpt2TokenizerJson(bool pairMerges, bool splitPreTokenizer)
    {
        string path = Path.Combine(_dir, "tokenizer.json");
        using var vocab = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TokenizerTestData.Gpt2Directory, "vocab.json")));
        string[] merges = [.. File.ReadAllLines(Path.Combine(TokenizerTestData.Gpt2Directory, "merges.txt"), Encoding.UTF8)
            .Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal))];
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartObject();
        w.WriteStartArray("added_tokens");
        w.WriteStartObject();
        w.WriteNumber("id", 50256);
        w.WriteString("content", "<|endoftext|>");
        w.WriteBoolean("special", true);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteNull("normalizer");
        w.WriteStartObject("pre_tokenizer");
        if (splitPreTokenizer)
        {
            w.WriteString("type", "Sequence");
            w.WriteStartArray("pretokenizers");
            w.WriteStartObject();
            w.WriteString("type", "Split");
            w.WriteStartObject("pattern");
            w.WriteString("Regex", Gpt2Regex);
            w.WriteEndObject();
            w.WriteString("behavior", "Isolated");
            w.WriteBoolean("invert", false);
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("use_regex", false);
            w.WriteEndObject();
            w.WriteEndArray();
        }
        else
        {
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("use_regex", true);
        }
        w.WriteEndObject();
        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteStartObject("vocab");
        foreach (var p in vocab.RootElement.EnumerateObject()) w.WriteNumber(p.Name, p.Value.GetInt32());
        w.WriteEndObject();
        w.WriteStartArray("merges");
        foreach (string m in merges)
        {
            if (pairMerges)
            {
                string[] parts = m.Split(' ');
                w.WriteStartArray();
                w.WriteStringValue(parts[0]);
                w.WriteStringValue(parts[1]);
                w.WriteEndArray();
            }
            else
            {
                w.WriteStringValue(m);
            }
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
        return path;
    }
}
