using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EdgeRuntime.Models.Formats.Gguf;

/// <summary>Maps a checkpoint's <c>config.json</c> to typed GGUF metadata under <c>{architecture}.</c> and back, so the
/// families' own <c>FromJson</c> parsers read GGUF files too (and report missing or wrong-typed keys themselves).</summary>
/// <remarks>
/// <para>Forward mapping (<see cref="Flatten"/>), for each member of the JSON object, with nested objects joined by dots
/// (<c>{"alt_mixer_2": {"window_size": 32}}</c> becomes <c>based.alt_mixer_2.window_size</c>):</para>
/// <list type="bullet">
/// <item>string → string; <c>true</c>/<c>false</c> → bool; <c>null</c> → omitted (the parsers treat absent and null alike).</item>
/// <item>integer literal (no fraction or exponent) → uint32 if it fits, else int32, else uint64 (non-negative) or int64 (float64 beyond).</item>
/// <item>literal with a fraction or exponent → float32 when the shortest float32 text reads back as the same double
/// (<c>1e-05</c>, <c>0.02</c>, <c>10000.0</c>), else float64, so the rebuilt text parses to exactly the original double.</item>
/// <item>array → typed array by the same rules (all integers: uint32/int32/uint64/int64; any fraction: float32/float64; strings;
/// bools; arrays of arrays nest, which the spec allows though ggml's own reader does not); an empty array is an empty
/// uint32 array. Arrays of objects, of nulls, or of mixed kinds have no GGUF form and are rejected.</item>
/// <item>empty objects are omitted; keys that are empty, contain a dot or are not printable ASCII are rejected.</item>
/// </list>
/// <para>Inverse (<see cref="ToJson(GgufReader)"/>): every key under <c>{architecture}.</c>, split at dots into nested
/// objects in file order; floats are written with a decimal point or exponent, integers without, so integer-typed and
/// float-typed config fields keep their JSON kinds. Stateless; safe from any thread.</para>
/// </remarks>
public static class GgufConfig
{
    /// <summary>The typed metadata entries of <paramref name="json"/> under <c>{architecture}.</c>, in document order.</summary>
    /// <exception cref="ModelConfigException">Not a JSON object, or a member with no GGUF form; names the file and key.</exception>
    public static IReadOnlyList<KeyValuePair<string, GgufValue>> Flatten(string json, string architecture, string configPath)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new ModelConfigException($"config: '{configPath}' is not valid JSON ({ex.Message})", ex);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelConfigException($"config: '{configPath}' is not a JSON object");
            var items = new List<KeyValuePair<string, GgufValue>>();
            FlattenObject(doc.RootElement, architecture, items, configPath);
            return items;
        }
    }

    /// <summary>Rebuilds config.json text from a GGUF file's <c>general.architecture</c> and <c>{architecture}.*</c> keys.</summary>
    /// <exception cref="ModelConfigException">No architecture, or keys that cannot form a JSON object.</exception>
    public static string ToJson(GgufReader reader) => ToJson(reader.Metadata, reader.Metadata.GetString("general.architecture"));

    /// <summary>Rebuilds config.json text from the <c>{architecture}.*</c> keys of <paramref name="metadata"/>.</summary>
    /// <exception cref="ModelConfigException">Keys that cannot form a JSON object (a key that is both a value and a parent,
    /// a NaN or infinite float).</exception>
    public static string ToJson(GgufMetadata metadata, string architecture)
    {
        string prefix = architecture + ".";
        var root = new Node();
        foreach (var (key, value) in metadata)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var node = root;
            string[] parts = key[prefix.Length..].Split('.');
            for (int i = 0; i < parts.Length; i++)
            {
                if (parts[i].Length == 0) throw new ModelConfigException($"gguf: metadata key '{key}' has an empty segment in '{metadata.Source}'");
                if (node.Value is not null) throw Conflict(metadata, key);
                node = node.Child(parts[i]);
            }
            if (node.Value is not null || node.Children.Count > 0) throw Conflict(metadata, key);
            node.Value = value;
        }
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            WriteNode(w, root, architecture, metadata.Source);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static ModelConfigException Conflict(GgufMetadata metadata, string key) =>
        new($"gguf: metadata key '{key}' is both a value and the parent of other keys in '{metadata.Source}'");

    private static void FlattenObject(JsonElement obj, string prefix, List<KeyValuePair<string, GgufValue>> items, string configPath)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
        {
            string key = prefix + "." + p.Name;
            if (p.Name.Length == 0 || p.Name.Contains('.') || p.Name.Any(c => c is < ' ' or > '~'))
                throw new ModelConfigException($"config: key '{key}' in '{configPath}' cannot be a GGUF key (empty, a '.', or not printable ASCII)");
            if (!seen.Add(p.Name)) throw new ModelConfigException($"config: key '{key}' appears twice in '{configPath}'");
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.Null:
                    break;
                case JsonValueKind.Object:
                    FlattenObject(p.Value, key, items, configPath);
                    break;
                default:
                    items.Add(new(key, ToValue(p.Value, key, configPath)));
                    break;
            }
        }
    }

    private static GgufValue ToValue(JsonElement e, string key, string configPath)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String: return GgufValue.String(e.GetString()!);
            case JsonValueKind.True: return GgufValue.Bool(true);
            case JsonValueKind.False: return GgufValue.Bool(false);
            case JsonValueKind.Number: return Number(e, key, configPath);
            case JsonValueKind.Array: return ToArray(e, key, configPath);
            default: throw new ModelConfigException($"config: key '{key}' in '{configPath}' is {e.ValueKind}, which has no GGUF form here");
        }
    }

    private static GgufValue Number(JsonElement e, string key, string configPath)
    {
        if (IsIntegerLiteral(e))
        {
            if (e.TryGetUInt32(out uint u)) return GgufValue.UInt32(u);
            if (e.TryGetInt32(out int i)) return GgufValue.Int32(i);
            if (e.TryGetUInt64(out ulong ul)) return GgufValue.UInt64(ul);
            if (e.TryGetInt64(out long l)) return GgufValue.Int64(l);
        }
        double d = Double(e, key, configPath);
        return FitsFloat32(d) ? GgufValue.Float32((float)d) : GgufValue.Float64(d);
    }

    private static GgufValue ToArray(JsonElement e, string key, string configPath)
    {
        var elements = e.EnumerateArray().ToArray();
        if (elements.Length == 0) return GgufValue.Array(System.Array.Empty<uint>());
        var kind = elements[0].ValueKind is JsonValueKind.True or JsonValueKind.False ? JsonValueKind.True : elements[0].ValueKind;
        foreach (var x in elements)
        {
            var k = x.ValueKind is JsonValueKind.True or JsonValueKind.False ? JsonValueKind.True : x.ValueKind;
            if (k != kind) throw new ModelConfigException($"config: key '{key}' in '{configPath}' mixes {kind} and {k} elements, which a GGUF array cannot hold");
        }
        switch (kind)
        {
            case JsonValueKind.String:
                return GgufValue.Array(elements.Select(x => x.GetString()!).ToArray());
            case JsonValueKind.True:
                return GgufValue.Array(elements.Select(x => x.GetBoolean()).ToArray());
            case JsonValueKind.Array:
                return GgufValue.Array(elements.Select((x, i) => ToArray(x, $"{key}[{i}]", configPath)).ToArray());
            case JsonValueKind.Number:
                if (elements.All(IsIntegerLiteral))
                {
                    if (elements.All(x => x.TryGetUInt32(out _))) return GgufValue.Array(elements.Select(x => x.GetUInt32()).ToArray());
                    if (elements.All(x => x.TryGetInt32(out _))) return GgufValue.Array(elements.Select(x => x.GetInt32()).ToArray());
                    if (elements.All(x => x.TryGetUInt64(out _))) return GgufValue.Array(elements.Select(x => x.GetUInt64()).ToArray());
                    if (elements.All(x => x.TryGetInt64(out _))) return GgufValue.Array(elements.Select(x => x.GetInt64()).ToArray());
                }
                var doubles = elements.Select((x, i) => Double(x, $"{key}[{i}]", configPath)).ToArray();
                return doubles.All(FitsFloat32)
                    ? GgufValue.Array(doubles.Select(d => (float)d).ToArray())
                    : GgufValue.Array(doubles);
            default:
                throw new ModelConfigException($"config: key '{key}' in '{configPath}' is an array of {kind}, which has no GGUF form (arrays hold numbers, strings, bools or arrays)");
        }
    }

    private static bool IsIntegerLiteral(JsonElement e) => e.GetRawText().AsSpan().IndexOfAny(".eE") < 0;

    private static double Double(JsonElement e, string key, string configPath) =>
        e.TryGetDouble(out double d) && double.IsFinite(d) ? d : throw new ModelConfigException($"config: key '{key}' in '{configPath}' is the number {e.GetRawText()}, outside the float64 range");

    /// <summary>Whether the shortest round-trip text of <c>(float)d</c> parses back to <paramref name="d"/> exactly.</summary>
    private static bool FitsFloat32(double d)
    {
        float f = (float)d;
        return float.IsFinite(f) && double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) == d;
    }

    private static void WriteNode(Utf8JsonWriter w, Node node, string path, string source)
    {
        if (node.Value is not null)
        {
            WriteValue(w, node.Value, path, source);
            return;
        }
        w.WriteStartObject();
        foreach (var (name, child) in node.Children)
        {
            w.WritePropertyName(name);
            WriteNode(w, child, path + "." + name, source);
        }
        w.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter w, GgufValue v, string key, string source)
    {
        if (v.IsArray)
        {
            w.WriteStartArray();
            foreach (object item in (System.Array)v.Value)
            {
                if (item is GgufValue nested) WriteValue(w, nested, key, source);
                else WriteScalar(w, item, key, source);
            }
            w.WriteEndArray();
        }
        else WriteScalar(w, v.Value, key, source);
    }

    private static void WriteScalar(Utf8JsonWriter w, object value, string key, string source)
    {
        switch (value)
        {
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case byte x: w.WriteNumberValue(x); break;
            case sbyte x: w.WriteNumberValue(x); break;
            case ushort x: w.WriteNumberValue(x); break;
            case short x: w.WriteNumberValue(x); break;
            case uint x: w.WriteNumberValue(x); break;
            case int x: w.WriteNumberValue(x); break;
            case ulong x: w.WriteNumberValue(x); break;
            case long x: w.WriteNumberValue(x); break;
            case float f: w.WriteRawValue(FloatText(f.ToString("R", CultureInfo.InvariantCulture), float.IsFinite(f), key, source)); break;
            case double d: w.WriteRawValue(FloatText(d.ToString("R", CultureInfo.InvariantCulture), double.IsFinite(d), key, source)); break;
            default: throw new ModelConfigException($"gguf: metadata key '{key}' holds an unsupported value in '{source}'");
        }
    }

    private static string FloatText(string text, bool finite, string key, string source)
    {
        if (!finite) throw new ModelConfigException($"gguf: metadata key '{key}' is {text}, which JSON cannot represent, in '{source}'");
        return text.AsSpan().IndexOfAny(".E") >= 0 ? text : text + ".0";
    }

    private sealed class Node
    {
        public GgufValue? Value;
        public readonly List<(string Name, Node Child)> Children = [];

        public Node Child(string name)
        {
            foreach (var (n, c) in Children)
                if (n == name) return c;
            var node = new Node();
            Children.Add((name, node));
            return node;
        }
    }
}
