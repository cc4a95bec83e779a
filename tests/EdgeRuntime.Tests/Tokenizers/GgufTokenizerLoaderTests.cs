using System.Text.Json;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;
using EdgeRuntime.Models.Tokenizers;

namespace EdgeRuntime.Tests.Tokenizers;

public class GgufTokenizerLoaderTests
{
    /// <summary>Writes a GGUF holding only <paramref name="entries"/> (and one small tensor) to <paramref name="path"/>.</summary>
    private static string WriteGguf(string path, IEnumerable<KeyValuePair<string, GgufValue>> entries)
    {
        var writer = new GgufWriter();
        writer.Add("general.architecture", "based");
        foreach (var (key, value) in entries) writer.Add(key, value);
        writer.AddTensor("dummy.weight", GgmlType.F32, [4], new byte[16]);
        writer.Save(path);
        return path;
    }

    private static IReadOnlyList<KeyValuePair<string, GgufValue>> Gpt2Entries()
    {
        using var config = JsonDocument.Parse("{}");
        return GgufTokenizer.FromDirectory(TokenizerTestData.Gpt2Directory, config.RootElement).Entries;
    }

    [Fact]
    public void FromGguf_EncodesLikeReferenceEncoder_When_Gpt2VocabularyConvertedByEdgefw()
    {
        using var dir = TestPaths.NewTempDir();
        string gguf = WriteGguf(dir.File("gpt2.gguf"), Gpt2Entries());
        var tokenizer = TokenizerLoader.FromGguf(gguf);
        Assert.Equal(50257, tokenizer.VocabSize);
        Assert.Equal(50256, tokenizer.EosId);
        Assert.Equal(50256, tokenizer.BosId);
        foreach (var (text, expected, _) in TokenizerTestData.Cases(Path.Combine(TokenizerTestData.Gpt2Directory, "golden.json")))
        {
            int[] actual = tokenizer.Encode(text);
            Assert.True(expected.SequenceEqual(actual),
                $"text {text}\nexpected {TokenizerTestData.Describe(expected)}\nactual   {TokenizerTestData.Describe(actual)}");
            Assert.Equal(text, tokenizer.Decode(actual));
        }
    }

    [Fact]
    public void Load_ReadsGgufMetadata_When_PathIsGgufFile()
    {
        using var dir = TestPaths.NewTempDir();
        string gguf = WriteGguf(dir.File("m.gguf"), Gpt2Entries());
        var fromFile = TokenizerLoader.Load(gguf);
        var fromDir = TokenizerLoader.Load(TokenizerTestData.Gpt2Directory);
        const string text = "Call me Ishmael. Some years ago—never mind how long precisely";
        Assert.Equal(fromDir.Encode(text), fromFile.Encode(text));
    }

    [Fact]
    public void FromGguf_MarksControlTokensSpecial_AndReadsSpecialIds_When_TokenTypesPresent()
    {
        using var dir = TestPaths.NewTempDir();
        var entries = new List<KeyValuePair<string, GgufValue>>
        {
            new("tokenizer.ggml.model", GgufValue.String("gpt2")),
            new("tokenizer.ggml.tokens", GgufValue.Array(["a", "b", "ab", "<s>", "</s>"])),
            new("tokenizer.ggml.merges", GgufValue.Array(["a b"])),
            new("tokenizer.ggml.token_type", GgufValue.Array([1, 1, 1, 3, 3])),
            new("tokenizer.ggml.bos_token_id", GgufValue.UInt32(3)),
            new("tokenizer.ggml.eos_token_id", GgufValue.UInt32(4)),
            new("tokenizer.ggml.add_bos_token", GgufValue.Bool(true)),
        };
        var tokenizer = TokenizerLoader.FromGguf(WriteGguf(dir.File("t.gguf"), entries));
        Assert.Equal(3, tokenizer.BosId);
        Assert.Equal(4, tokenizer.EosId);
        Assert.True(tokenizer.AddBos);
        Assert.True(tokenizer.IsSpecial(3));
        Assert.False(tokenizer.IsSpecial(2));
        Assert.Equal([2, 1], tokenizer.Encode("abb"));
        Assert.Equal("abb", tokenizer.Decode([3, 2, 1, 4]));
    }

    [Fact]
    public void FromGguf_ThrowsFileNotFound_When_FileHoldsNoTokenizer()
    {
        using var dir = TestPaths.NewTempDir();
        string gguf = WriteGguf(dir.File("bare.gguf"), []);
        var ex = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.FromGguf(gguf));
        Assert.Contains("tokenizer.ggml.model", ex.Message);
    }

    [Fact]
    public void FromGguf_ThrowsFormatError_When_SpecialIdOutOfRange()
    {
        using var dir = TestPaths.NewTempDir();
        string gguf = WriteGguf(dir.File("bad.gguf"), [
            new("tokenizer.ggml.model", GgufValue.String("gpt2")),
            new("tokenizer.ggml.tokens", GgufValue.Array(["a", "b", "ab"])),
            new("tokenizer.ggml.merges", GgufValue.Array(["a b"])),
            new("tokenizer.ggml.eos_token_id", GgufValue.UInt32(7)),
        ]);
        var ex = Assert.ThrowsAny<ModelLoadException>(() => TokenizerLoader.FromGguf(gguf));
        Assert.Contains("eos_token_id", ex.Message);
        Assert.Contains("got 7", ex.Message);
    }
}
