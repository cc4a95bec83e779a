using System.Text.Json;
using EdgeRuntime.Models.Tokenizers;

namespace EdgeRuntime.Tests.Tokenizers;

/// <summary>Locates ../shared and this project's TestData, and caches the tokenizers the tests share.</summary>
internal static class TokenizerTestData
{
    private static readonly Lazy<ITextTokenizer> s_gpt2 = new(() => ByteLevelBpeTokenizer.FromVocabAndMerges(
        Path.Combine(Gpt2Directory, "vocab.json"), Path.Combine(Gpt2Directory, "merges.txt")));

    private static readonly Lazy<ITextTokenizer> s_spm = new(() => SentencePieceTextTokenizer.FromFile(SpmModelPath));

    /// <summary>The shared folder (holds golden/ and tokenizers/), found by walking up from the test binaries.</summary>
    public static string SharedDirectory { get; } = FindUp(d => Directory.Exists(Path.Combine(d, "shared", "golden")), "shared");

    /// <summary>tests/EdgeRuntime.Tests/TestData in the source tree.</summary>
    public static string TestDataDirectory { get; } =
        FindUp(d => Directory.Exists(Path.Combine(d, "tests", "EdgeRuntime.Tests", "TestData")), Path.Combine("tests", "EdgeRuntime.Tests", "TestData"));

    public static string Gpt2Directory => Path.Combine(SharedDirectory, "tokenizers", "gpt2");

    public static string SpmDirectory => Path.Combine(TestDataDirectory, "spm");

    public static string SpmModelPath => Path.Combine(SpmDirectory, "tiny.model");

    /// <summary>GPT-2 byte-level BPE from the shared vocab.json + merges.txt.</summary>
    public static ITextTokenizer Gpt2 => s_gpt2.Value;

    /// <summary>The 400-piece SentencePiece BPE model in TestData/spm.</summary>
    public static ITextTokenizer Spm => s_spm.Value;

    /// <summary>Cases of a golden file: text and ids (plus the raw element for extra fields).</summary>
    public static IEnumerable<(string Text, int[] Ids, JsonElement Case)> Cases(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var list = new List<(string, int[], JsonElement)>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            int[] ids = [.. c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
            list.Add((text, ids, c.Clone()));
        }
        return list;
    }

    public static string Describe(int[] ids) => "[" + string.Join(", ", ids) + "]";

    private static string FindUp(Func<string, bool> found, string what)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (found(dir.FullName))
                return what == "shared" ? Path.Combine(dir.FullName, "shared") : Path.Combine(dir.FullName, what);
        }
        throw new DirectoryNotFoundException($"test data: no '{what}' above '{AppContext.BaseDirectory}'");
    }
}
