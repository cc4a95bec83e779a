using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Tokenizers;

namespace EdgeRuntime.Tests.Tokenizers;

public sealed class TokenizerLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgert-tokload-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void FromDirectory_LoadsGpt2_When_VocabAndMerges()
    {
        var t = TokenizerLoader.FromDirectory(TokenizerTestData.Gpt2Directory);
        Assert.IsType<ByteLevelBpeTokenizer>(t);
        Assert.Equal(new[] { 15496, 11, 995, 0 }, t.Encode("Hello, world!"));
    }

    [Fact]
    public void FromDirectory_LoadsSentencePiece_When_TokenizerModel()
    {
        File.Copy(TokenizerTestData.SpmModelPath, Path.Combine(_dir, "tokenizer.model"));
        var t = TokenizerLoader.FromDirectory(Path.Combine(_dir, "tokenizer.model")); // a file inside works too
        Assert.IsType<SentencePieceTextTokenizer>(t);
        Assert.Equal(new[] { 261 }, t.Encode("a"));
    }

    [Fact]
    public void FromDirectory_TakesIdsFromConfig_When_ConfigHasBosEos()
    {
        File.Copy(TokenizerTestData.SpmModelPath, Path.Combine(_dir, "tokenizer.model"));
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type":"transnormer","bos_token_id":0,"eos_token_id":[5,2]}""");
        var t = TokenizerLoader.FromDirectory(_dir);
        Assert.Equal(0, t.BosId);
        Assert.Equal(5, t.EosId);
        Assert.True(t.IsSpecial(5));
    }

    [Fact]
    public void FromDirectory_ReadsTokenizerConfig_When_TokensByContent()
    {
        File.Copy(TokenizerTestData.SpmModelPath, Path.Combine(_dir, "tokenizer.model"));
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"),
            """{"bos_token":{"content":"</s>","special":true},"eos_token":"<s>","add_bos_token":false}""");
        var t = TokenizerLoader.FromDirectory(_dir);
        Assert.Equal(2, t.BosId);
        Assert.Equal(1, t.EosId);
        Assert.False(t.AddBos);
    }

    [Fact]
    public void FromDirectory_NamesKey_When_ConfigIdWrongType()
    {
        File.Copy(TokenizerTestData.SpmModelPath, Path.Combine(_dir, "tokenizer.model"));
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"eos_token_id":"2"}""");
        var ex = Assert.Throws<ModelConfigException>(() => TokenizerLoader.FromDirectory(_dir));
        Assert.Contains("'eos_token_id'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromDirectory_ListsExpectedFiles_When_NoTokenizer()
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), "{}");
        var ex = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.FromDirectory(_dir));
        Assert.Contains("tokenizer.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.model", ex.Message, StringComparison.Ordinal);
        Assert.Contains("vocab.json + merges.txt", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromDirectory_Throws_When_PathMissing()
    {
        Assert.Throws<FileNotFoundException>(() => TokenizerLoader.FromDirectory(Path.Combine(_dir, "nope")));
    }
}
