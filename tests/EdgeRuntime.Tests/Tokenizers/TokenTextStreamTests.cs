using System.Text;
using EdgeRuntime.Models.Tokenizers;

namespace EdgeRuntime.Tests.Tokenizers;

public class TokenTextStreamTests
{
    /// <summary>The GPT-2 id of the single-byte token for <paramref name="b"/> (every byte has one).</summary>
    private static int Gpt2ByteToken(byte b)
    {
        var t = (ByteLevelBpeTokenizer)TokenizerTestData.Gpt2;
        int id = t.FindToken(ByteLevelAlphabet.ToChar(b).ToString());
        Assert.True(id >= 0, $"no single-byte token for 0x{b:X2}");
        return id;
    }

    [Fact]
    public void TryPush_EmitsOneCharacter_When_FourByteEmojiSplitAcrossByteTokens()
    {
        var stream = new TokenTextStream(TokenizerTestData.Gpt2);
        byte[] rocket = Encoding.UTF8.GetBytes("🚀");
        Assert.Equal(4, rocket.Length);
        var emitted = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            bool any = stream.TryPush(Gpt2ByteToken(rocket[i]), out string text);
            Assert.Equal(i == 3, any);
            emitted.Add(text);
        }
        Assert.Equal(new[] { "", "", "", "🚀" }, emitted);
        Assert.Equal("", stream.Flush());
    }

    [Fact]
    public void TryPush_EmitsOneCharacter_When_SentencePieceByteFallback()
    {
        var t = TokenizerTestData.Spm;
        int[] ids = t.Encode("rocket 🚀 fire"); // the emoji is four <0xNN> pieces (TestData/spm/expected.json)
        var stream = new TokenTextStream(t);
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            if (stream.TryPush(id, out string text))
            {
                Assert.DoesNotContain('\uFFFD', text);
                sb.Append(text);
            }
        }
        sb.Append(stream.Flush());
        Assert.Equal(" rocket 🚀 fire", sb.ToString()); // the dummy-prefix space stays in a stream
    }

    [Theory]
    [InlineData("日本語のテキスト、中文文本和表情🔥。")]
    [InlineData("Unicode: café naïve résumé — “quotes” … 日本語のテキスト 🚀🔥 Ελληνικά")]
    public void TryPush_ConcatenatesToText_When_MultiByteText(string text)
    {
        var t = TokenizerTestData.Gpt2;
        var stream = new TokenTextStream(t);
        var sb = new StringBuilder();
        foreach (int id in t.Encode(text))
        {
            if (stream.TryPush(id, out string piece))
            {
                Assert.DoesNotContain('\uFFFD', piece);
                Assert.False(char.IsHighSurrogate(piece[^1]), "a piece ends inside a surrogate pair");
                sb.Append(piece);
            }
        }
        Assert.Equal(0, stream.PendingByteCount);
        Assert.Equal(text, sb.ToString());
    }

    [Fact]
    public void Flush_GivesReplacementCharacter_When_IncompleteSequence()
    {
        var stream = new TokenTextStream(TokenizerTestData.Gpt2);
        Assert.False(stream.TryPush(Gpt2ByteToken(0xE6), out _));
        Assert.False(stream.TryPush(Gpt2ByteToken(0x97), out _));
        Assert.Equal(2, stream.PendingByteCount);
        Assert.Equal("\uFFFD", stream.Flush());
        Assert.Equal(0, stream.PendingByteCount);
    }

    [Fact]
    public void TryPush_ReplacesAtOnce_When_InvalidBytes()
    {
        var stream = new TokenTextStream(TokenizerTestData.Gpt2);
        // A lone continuation byte can never become valid: U+FFFD right away, nothing held.
        Assert.True(stream.TryPush(Gpt2ByteToken(0x80), out string text));
        Assert.Equal("\uFFFD", text);
        // A lead byte followed by a non-continuation: the lead is invalid, the ASCII letter is text.
        Assert.False(stream.TryPush(Gpt2ByteToken(0xE6), out _));
        Assert.True(stream.TryPush(Gpt2ByteToken((byte)'A'), out text));
        Assert.Equal("\uFFFDA", text);
        // 0xFF is never valid UTF-8.
        Assert.True(stream.TryPush(Gpt2ByteToken(0xFF), out text));
        Assert.Equal("\uFFFD", text);
        Assert.Equal("", stream.Flush());
    }

    [Fact]
    public void TryPush_AddsNothing_When_SpecialOrUnknownId()
    {
        var stream = new TokenTextStream(TokenizerTestData.Gpt2);
        Assert.False(stream.TryPush(50256, out string text));
        Assert.Equal("", text);
        Assert.False(stream.TryPush(50270, out text)); // beyond the tokenizer: a padded model vocabulary
        Assert.False(stream.TryPush(-1, out text));
        Assert.Equal("", stream.Flush());
    }
}
