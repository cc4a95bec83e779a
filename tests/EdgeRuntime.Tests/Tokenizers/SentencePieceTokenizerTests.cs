using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Tokenizers;

namespace EdgeRuntime.Tests.Tokenizers;

/// <summary>Checks against TestData/spm/expected.json, recorded from the sentencepiece CLI (see TestData/spm/README.md).</summary>
public class SentencePieceTokenizerTests
{
    private static string ExpectedPath => Path.Combine(TokenizerTestData.SpmDirectory, "expected.json");

    public static TheoryData<int> CaseIndices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < TokenizerTestData.Cases(ExpectedPath).Count(); i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Encode_MatchesSpmEncode_When_RecordedText(int index)
    {
        var (text, expected, c) = TokenizerTestData.Cases(ExpectedPath).ElementAt(index);
        var t = TokenizerTestData.Spm;
        int[] actual = t.Encode(text);
        Assert.True(expected.SequenceEqual(actual), $"text {text}\nexpected {TokenizerTestData.Describe(expected)}\nactual   {TokenizerTestData.Describe(actual)}");
        string[] pieces = [.. c.GetProperty("pieces").EnumerateArray().Select(e => e.GetString()!)];
        Assert.Equal(pieces, actual.Select(t.TokenPiece).ToArray());
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Decode_MatchesSpmDecode_When_RecordedIds(int index)
    {
        var (text, ids, c) = TokenizerTestData.Cases(ExpectedPath).ElementAt(index);
        Assert.Equal(c.GetProperty("decoded").GetString(), TokenizerTestData.Spm.Decode(ids));
        Assert.Equal(text, TokenizerTestData.Spm.Decode(TokenizerTestData.Spm.Encode(text)));
    }

    public static TheoryData<int> DecodeCaseIndices()
    {
        var data = new TheoryData<int>();
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(ExpectedPath));
        for (int i = 0; i < doc.RootElement.GetProperty("decode_cases").GetArrayLength(); i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(DecodeCaseIndices))]
    public void Decode_MatchesSpmDecode_When_EdgeCaseIds(int index)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(ExpectedPath));
        var c = doc.RootElement.GetProperty("decode_cases")[index];
        int[] ids = [.. c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
        Assert.Equal(c.GetProperty("decoded").GetString(), TokenizerTestData.Spm.Decode(ids));
    }

    [Fact]
    public void Pieces_HaveSpmTypes_When_ControlByteAndNormal()
    {
        var t = TokenizerTestData.Spm;
        Assert.Equal(400, t.VocabSize);
        Assert.Equal(1, t.BosId);
        Assert.Equal(2, t.EosId);
        Assert.True(t.AddBos);
        Assert.True(t.IsSpecial(1) && t.IsSpecial(2));
        Assert.False(t.IsSpecial(0)); // <unk> is text (" ⁇ "), as spm_decode writes it
        Assert.Equal(" \u2047 ", t.Decode([0], skipSpecial: true));
        Assert.Equal("<0xF0>", t.TokenPiece(3 + 0xF0));
        Assert.Equal(new byte[] { 0xF0 }, t.TokenBytes(3 + 0xF0).ToArray());
        Assert.Equal("▁the", t.TokenPiece(262));
        Assert.Equal(" the"u8.ToArray(), t.TokenBytes(262).ToArray());
        Assert.Equal("the", t.Decode([1, 262, 2]));
        Assert.Equal("<s>the</s>", t.Decode([1, 262, 2], skipSpecial: false));
    }

    [Fact]
    public void FromFile_Throws_When_NotASentencePieceModel()
    {
        string path = Path.Combine(Path.GetTempPath(), $"edgert-bad-{Environment.ProcessId}.model");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
        try
        {
            var ex = Assert.Throws<ModelFormatException>(() => SentencePieceTextTokenizer.FromFile(path));
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
