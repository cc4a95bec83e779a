using System.Text.Json;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;

namespace EdgeRuntime.Tests.Formats;

public class GgufConfigTests
{
    private static GgufMetadata Roundtrip(string json, string arch, GgufTestFiles files)
    {
        var w = new GgufWriter();
        w.Add("general.architecture", arch);
        foreach (var (k, v) in GgufConfig.Flatten(json, arch, "config.json")) w.Add(k, v);
        string path = files.PathOf(Guid.NewGuid().ToString("N") + ".gguf");
        w.Save(path);
        using var r = new GgufReader(path);
        return r.Metadata;
    }

    [Theory]
    [InlineData("based-tiny", "based")]
    [InlineData("transnormer-tiny", "transnormer")]
    [InlineData("aaren-tiny", "aaren")]
    public void ToJson_RebuildsAnEquivalentConfig_ForEveryGolden(string dir, string arch)
    {
        using var files = new GgufTestFiles();
        string original = File.ReadAllText(Path.Combine(GgufTestFiles.GoldenDirectory, dir, "config.json"));
        string rebuilt = GgufConfig.ToJson(Roundtrip(original, arch, files), arch);
        using var a = JsonDocument.Parse(original);
        using var b = JsonDocument.Parse(rebuilt);
        AssertEquivalent(a.RootElement, b.RootElement, "$");
    }

    [Fact]
    public void Flatten_UsesDocumentedTypes()
    {
        const string json = """
            {"n_embd": 128, "neg": -3, "big": 5000000000, "eps": 1e-05, "base": 10000.0, "precise": 0.1234567890123,
             "name": "x", "flag": false, "none": null, "ids": [1, 0, 4], "mixed_num": [1, 2.5], "negs": [-1, 2],
             "names": ["a", "b"], "grid": [[1, 2], [3]], "empty": [],
             "alt_mixer_2": {"window_size": 32, "inner": {"deep": true}}, "blank": {}}
            """;
        var items = GgufConfig.Flatten(json, "based", "config.json").ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(GgufValueType.UInt32, items["based.n_embd"].Type);
        Assert.Equal(GgufValueType.Int32, items["based.neg"].Type);
        Assert.Equal(GgufValueType.UInt64, items["based.big"].Type);
        Assert.Equal(GgufValueType.Float32, items["based.eps"].Type);
        Assert.Equal(1e-05f, (float)items["based.eps"].Value);
        Assert.Equal(GgufValueType.Float32, items["based.base"].Type);
        Assert.Equal(GgufValueType.Float64, items["based.precise"].Type);
        Assert.Equal(GgufValueType.String, items["based.name"].Type);
        Assert.Equal(GgufValueType.Bool, items["based.flag"].Type);
        Assert.False(items.ContainsKey("based.none"));
        Assert.Equal(GgufValueType.UInt32, items["based.ids"].ElementType);
        Assert.Equal(GgufValueType.Float32, items["based.mixed_num"].ElementType);
        Assert.Equal(GgufValueType.Int32, items["based.negs"].ElementType);
        Assert.Equal(GgufValueType.String, items["based.names"].ElementType);
        Assert.Equal(GgufValueType.Array, items["based.grid"].ElementType);
        Assert.Empty((uint[])items["based.empty"].Value);
        Assert.Equal(32u, (uint)items["based.alt_mixer_2.window_size"].Value);
        Assert.True((bool)items["based.alt_mixer_2.inner.deep"].Value);
        Assert.DoesNotContain(items.Keys, k => k.StartsWith("based.blank", StringComparison.Ordinal));
    }

    [Fact]
    public void ToJson_KeepsIntegerAndFloatKinds_AndExactDoubles()
    {
        using var files = new GgufTestFiles();
        const string json = """{"eps": 1e-05, "base": 10000.0, "precise": 0.1234567890123, "n": 7, "neg": -3, "ids": [1, 0], "f": [0.5, 2.0]}""";
        string rebuilt = GgufConfig.ToJson(Roundtrip(json, "aaren", files), "aaren");
        using var doc = JsonDocument.Parse(rebuilt);
        var root = doc.RootElement;
        Assert.Equal(1e-05, root.GetProperty("eps").GetDouble());
        Assert.Equal(0.1234567890123, root.GetProperty("precise").GetDouble());
        Assert.Contains('.', root.GetProperty("base").GetRawText());          // still a float literal
        Assert.False(root.GetProperty("eps").TryGetInt32(out _));            // int parsers reject it as before
        Assert.Equal(7, root.GetProperty("n").GetInt32());
        Assert.Equal("7", root.GetProperty("n").GetRawText());
        Assert.Equal(-3, root.GetProperty("neg").GetInt32());
        Assert.Equal("2.0", root.GetProperty("f")[1].GetRawText());
    }

    [Theory]
    [InlineData("""{"a": [{"x": 1}]}""", "array of Object")]
    [InlineData("""{"a": [1, "x"]}""", "mixes Number and String")]
    [InlineData("""{"a.b": 1}""", "cannot be a GGUF key")]
    [InlineData("""[1, 2]""", "is not a JSON object")]
    [InlineData("""{"a": 1""", "is not valid JSON")]
    public void Flatten_Rejects_ConfigsWithNoGgufForm(string json, string fragment)
    {
        var ex = Assert.Throws<ModelConfigException>(() => GgufConfig.Flatten(json, "based", "/x/config.json"));
        Assert.Contains(fragment, ex.Message);
        Assert.Contains("/x/config.json", ex.Message);
    }

    [Fact]
    public void ToJson_Rejects_KeyThatIsBothValueAndParent()
    {
        using var files = new GgufTestFiles();
        var w = new GgufWriter().Add("general.architecture", "based").Add("based.a", 1u).Add("based.a.b", 2u);
        string path = files.PathOf("c.gguf");
        w.Save(path);
        using var r = new GgufReader(path);
        var ex = Assert.Throws<ModelConfigException>(() => GgufConfig.ToJson(r));
        Assert.Contains("'based.a.b' is both a value and the parent", ex.Message);
    }

    /// <summary>Deep JSON equality; numbers compare by value as doubles (the families' parsers see doubles or ints).</summary>
    internal static void AssertEquivalent(JsonElement expected, JsonElement actual, string path)
    {
        if (expected.ValueKind == JsonValueKind.Null) return;   // nulls are omitted by design
        Assert.True(expected.ValueKind == actual.ValueKind, $"{path}: expected {expected.ValueKind}, got {actual.ValueKind}");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var names = expected.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Null).Select(p => p.Name).ToArray();
                Assert.Equal(names, actual.EnumerateObject().Select(p => p.Name).ToArray());
                foreach (var n in names) AssertEquivalent(expected.GetProperty(n), actual.GetProperty(n), path + "." + n);
                break;
            case JsonValueKind.Array:
                Assert.Equal(expected.GetArrayLength(), actual.GetArrayLength());
                for (int i = 0; i < expected.GetArrayLength(); i++) AssertEquivalent(expected[i], actual[i], $"{path}[{i}]");
                break;
            case JsonValueKind.Number:
                Assert.True(expected.GetDouble() == actual.GetDouble(), $"{path}: expected {expected.GetRawText()}, got {actual.GetRawText()}");
                bool expectedInt = expected.GetRawText().IndexOfAny(['.', 'e', 'E']) < 0;
                bool actualInt = actual.GetRawText().IndexOfAny(['.', 'e', 'E']) < 0;
                Assert.True(expectedInt == actualInt, $"{path}: integer/float kind changed from {expected.GetRawText()} to {actual.GetRawText()}");
                break;
            default:
                Assert.Equal(expected.GetRawText(), actual.GetRawText());
                break;
        }
    }
}
