using System.Buffers;
using System.Text.Json;
using EdgeRuntime.Models.Formats.Gguf;
using Spectre.Console;

namespace EdgeRuntime.Tools.Commands;

/// <summary>The GGUF part of <c>edgefw inspect</c>: file header, metadata table and tensor table.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class GgufInspect
{
    /// <summary>Arrays up to this many elements are printed whole in JSON; longer ones give their first <see cref="JsonPreviewItems"/>.</summary>
    public const int JsonFullArrayItems = 64;

    /// <summary>Elements of a long array shown in JSON (with <c>truncated: true</c>).</summary>
    public const int JsonPreviewItems = 16;

    /// <summary>Describes an open GGUF file for <c>--json</c>.</summary>
    public static GgufJson ToJson(GgufReader file)
    {
        var metadata = new List<GgufMetadataJson>(file.Metadata.Count);
        foreach (var (key, value) in file.Metadata)
        {
            bool truncated = value.IsArray && value.Count > JsonFullArrayItems;
            metadata.Add(new GgufMetadataJson(key, value.TypeName, value.IsArray ? value.Count : null, ValueElement(value, truncated ? JsonPreviewItems : int.MaxValue), truncated ? true : null));
        }
        var tensors = file.Tensors.Select(t => new GgufTensorJson(t.Name, GgmlTypeInfo.Name(t.Type), t.Shape, t.Dimensions, t.ByteLength, t.Offset)).ToList();
        return new GgufJson(file.Version, file.Alignment, file.DataOffset, file.FileLength, file.Tensors.Sum(t => t.ByteLength), metadata, tensors);
    }

    /// <summary>Writes the header line, the metadata table and the tensor table to <paramref name="console"/>.</summary>
    public static void WriteTables(IAnsiConsole console, GgufReader file)
    {
        console.WriteLine($"GGUF v{file.Version}: {file.Metadata.Count} metadata keys, {file.Tensors.Count} tensors, alignment {file.Alignment}, data at byte {file.DataOffset:N0}, file {file.FileLength:N0} bytes");
        var meta = new Table().AddColumn("key").AddColumn("type").AddColumn("value");
        foreach (var (key, value) in file.Metadata)
            meta.AddRow(new Text(key), new Text(value.TypeName), new Text(value.ToDisplayString(6)));
        console.Write(meta);
        var tensors = new Table().AddColumn("tensor").AddColumn("type").AddColumn("shape").AddColumn(new TableColumn("bytes").RightAligned()).AddColumn(new TableColumn("offset").RightAligned());
        foreach (var t in file.Tensors)
            tensors.AddRow(new Text(t.Name), new Text(GgmlTypeInfo.Name(t.Type)), new Text(t.ShapeText), new Text(t.ByteLength.ToString("N0")), new Text(t.Offset.ToString("N0")));
        long total = file.Tensors.Sum(t => t.ByteLength);
        tensors.AddRow(new Text("total"), new Text(""), new Text($"{file.Tensors.Count} tensors"), new Text(total.ToString("N0")), new Text(""));
        console.Write(tensors);
    }

    /// <summary>A metadata value as JSON: numbers, strings and bools as themselves, arrays as JSON arrays (first
    /// <paramref name="maxItems"/> elements; nested arrays the same way).</summary>
    private static JsonElement ValueElement(GgufValue value, int maxItems)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
            Write(w, value.Value, maxItems);
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        return doc.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter w, object v, int maxItems)
    {
        switch (v)
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
            case float x when float.IsFinite(x): w.WriteNumberValue(x); break;
            case double x when double.IsFinite(x): w.WriteNumberValue(x); break;
            case float or double: w.WriteStringValue(Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValue nested: Write(w, nested.Value, maxItems); break;
            case Array a:
                w.WriteStartArray();
                for (int i = 0; i < Math.Min(a.Length, maxItems); i++) Write(w, a.GetValue(i)!, maxItems);
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(v.ToString()); break;
        }
    }
}
