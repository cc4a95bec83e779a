using EdgeRuntime.Models.Tokenizers;

namespace EdgeRuntime.Tests.Tokenizers;

public class Gpt2TokenizerTests
{
    public static TheoryData<int> GoldenCaseIndices()
    {
        var data = new TheoryData<int>();
        int n = TokenizerTestData.Cases(Path.Combine(TokenizerTestData.Gpt2Directory, "golden.json")).Count();
        for (int i = 0; i < n; i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(GoldenCaseIndices))]
    public void Encode_MatchesGptThreeEncoder_When_GoldenText(int index)
    {
        var (text, expected, _) = TokenizerTestData.Cases(Path.Combine(TokenizerTestData.Gpt2Directory, "golden.json")).ElementAt(index);
        int[] actual = TokenizerTestData.Gpt2.Encode(text);
        Assert.True(expected.SequenceEqual(actual),
            $"text {text}\nexpected {TokenizerTestData.Describe(expected)}\nactual   {TokenizerTestData.Describe(actual)}");
    }

    [Theory]
    [MemberData(nameof(GoldenCaseIndices))]
    public void Decode_ReturnsText_When_EncodedGoldenText(int index)
    {
        var (text, ids, _) = TokenizerTestData.Cases(Path.Combine(TokenizerTestData.Gpt2Directory, "golden.json")).ElementAt(index);
        Assert.Equal(text, TokenizerTestData.Gpt2.Decode(ids));
        Assert.Equal(text, TokenizerTestData.Gpt2.Decode(TokenizerTestData.Gpt2.Encode(text)));
    }

    [Fact]
    public void Encode_TreatsSpecialTokenAsPlainText_When_TextContainsEndOfText()
    {
        int[] ids = TokenizerTestData.Gpt2.Encode("a<|endoftext|>b");
        Assert.DoesNotContain(50256, ids);
        Assert.Equal("a<|endoftext|>b", TokenizerTestData.Gpt2.Decode(ids));
    }

    [Fact]
    public void SpecialIds_AreEndOfText_When_Gpt2Vocabulary()
    {
        var t = TokenizerTestData.Gpt2;
        Assert.Equal(50257, t.VocabSize);
        Assert.Equal(50256, t.BosId);
        Assert.Equal(50256, t.EosId);
        Assert.False(t.AddBos);
        Assert.True(t.IsSpecial(50256));
        Assert.True(t.TokenBytes(50256).IsEmpty);
        Assert.Equal("Hello", t.Decode([15496, 50256]));
        Assert.Equal("Hello<|endoftext|>", t.Decode([15496, 50256], skipSpecial: false));
    }

    [Fact]
    public void TokenBytes_MapsByteLevelAlphabetBack_When_SpaceAndNewline()
    {
        var t = TokenizerTestData.Gpt2;
        // 995 = "Ġworld", 198 = "Ċ" (newline), 220 = "Ġ" (space); the table is GPT-2's bytes_to_unicode.
        Assert.Equal("Ġworld", t.TokenPiece(995));
        Assert.Equal(" world"u8.ToArray(), t.TokenBytes(995).ToArray());
        Assert.Equal("\n"u8.ToArray(), t.TokenBytes(198).ToArray());
        Assert.Equal(" "u8.ToArray(), t.TokenBytes(220).ToArray());
    }

    [Fact]
    public void ByteLevelAlphabet_CoversEveryByteOnce_When_BuiltFromTheGpt2Rule()
    {
        // Independent statement of bytes_to_unicode: printable ranges keep their code, the other 68 bytes follow 256 in order.
        int next = 256;
        var seen = new HashSet<char>();
        for (int b = 0; b < 256; b++)
        {
            bool keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char expected = keep ? (char)b : (char)next++;
            Assert.Equal(expected, ByteLevelAlphabet.ToChar((byte)b));
            Assert.True(ByteLevelAlphabet.TryToByte(expected, out byte back) && back == b, $"byte {b}");
            Assert.True(seen.Add(expected));
        }
        Assert.Equal(256 + 68, next);
    }

    [Fact]
    public void TokenBytes_Throws_When_IdOutOfRange()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenizerTestData.Gpt2.TokenBytes(50257).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenizerTestData.Gpt2.TokenBytes(-1).ToArray());
    }

    [Fact]
    public void EncodeIntoSpan_MatchesArray_When_LongEnough()
    {
        var t = TokenizerTestData.Gpt2;
        Span<int> buffer = stackalloc int[16];
        int n = t.Encode("Hello, world!", buffer);
        Assert.Equal(new[] { 15496, 11, 995, 0 }, buffer[..n].ToArray());
        Assert.Throws<ArgumentException>(() => t.Encode("Hello, world!", new int[2]));
    }
}
