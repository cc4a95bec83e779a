using System.CommandLine;
using EdgeRuntime.Tools.Commands;

namespace EdgeRuntime.Tests.Tokenizers;

public class TokenizeCommandTests
{
    private static (int Code, string Output, string Error) Invoke(params string[] args)
    {
        var root = new RootCommand("test") { TokenizeCommand.Create(), TokenizeCommand.CreateDetokenize() };
        var output = new StringWriter();
        var error = new StringWriter();
        int code = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Tokenize_PrintsIds_When_Gpt2()
    {
        var (code, output, _) = Invoke("tokenize", "--tokenizer", TokenizerTestData.Gpt2Directory, "--text", "Hello, world!");
        Assert.Equal(0, code);
        Assert.Equal("15496,11,995,0", output.TrimEnd());
    }

    [Fact]
    public void Tokenize_PrintsJson_When_JsonFlag()
    {
        var (code, output, _) = Invoke("tokenize", "--tokenizer", TokenizerTestData.Gpt2Directory, "--text", "Hello, world!", "--json");
        Assert.Equal(0, code);
        Assert.Equal("""{"ids":[15496,11,995,0]}""", output.TrimEnd());
    }

    [Fact]
    public void Detokenize_PrintsText_When_IdsGiven()
    {
        var (code, output, _) = Invoke("detokenize", "--tokenizer", TokenizerTestData.Gpt2Directory, "--ids", "15496,11,995,0");
        Assert.Equal(0, code);
        Assert.Equal("Hello, world!" + Environment.NewLine, output);
        (code, output, _) = Invoke("detokenize", "--tokenizer", TokenizerTestData.Gpt2Directory, "--ids", "15496 11", "--json");
        Assert.Equal(0, code);
        Assert.Equal("""{"text":"Hello,"}""", output.TrimEnd());
    }

    [Theory]
    [InlineData("1,x", "'x' is not a token id")]
    [InlineData("-3", "'-3' is not a token id")]
    [InlineData("50257", "outside the tokenizer's vocabulary")]
    public void Detokenize_ExitsTwo_When_IdsUnusable(string ids, string message)
    {
        var (code, output, error) = Invoke("detokenize", "--tokenizer", TokenizerTestData.Gpt2Directory, "--ids", ids);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenize_ExitsTwo_When_NoTokenizerInDirectory()
    {
        string dir = Directory.CreateTempSubdirectory("edgert-cli-").FullName;
        try
        {
            var (code, output, error) = Invoke("tokenize", "--tokenizer", dir, "--text", "x");
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.Contains("no tokenizer", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Tokenize_ExitsOne_When_TokenizerFileMalformed()
    {
        string dir = Directory.CreateTempSubdirectory("edgert-cli-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{ not json");
            var (code, _, error) = Invoke("tokenize", "--tokenizer", dir, "--text", "x");
            Assert.Equal(1, code);
            Assert.Contains("tokenizer.json", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
