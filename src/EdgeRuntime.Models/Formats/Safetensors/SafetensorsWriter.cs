using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace EdgeRuntime.Models.Formats.Safetensors;

/// <summary>Writes <c>.safetensors</c> files (F32 and I32 tensors, string metadata), as PyTorch's <c>safetensors.torch.save_file</c> lays them out.</summary>
/// <remarks>
/// The header is padded with spaces to a multiple of 8 bytes; tensors follow in insertion order, contiguous. Used by
/// <c>edgefw synth</c>, the training export and tests that build checkpoints on disk. Not thread-safe.
/// </remarks>
public sealed class SafetensorsWriter
{
    private readonly List<(string Name, string DType, long[] Shape, byte[] Bytes)> _tensors = [];
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    /// <summary>Adds an F32 tensor; <paramref name="data"/> must hold product(shape) floats.</summary>
    public SafetensorsWriter Add(string name, ReadOnlySpan<float> data, params long[] shape)
    {
        Check(name, data.Length, shape);
        _tensors.Add((name, "F32", shape, MemoryMarshal.AsBytes(data).ToArray()));
        return this;
    }

    /// <summary>Adds an I32 tensor.</summary>
    public SafetensorsWriter Add(string name, ReadOnlySpan<int> data, params long[] shape)
    {
        Check(name, data.Length, shape);
        _tensors.Add((name, "I32", shape, MemoryMarshal.AsBytes(data).ToArray()));
        return this;
    }

    /// <summary>Adds a <c>__metadata__</c> entry.</summary>
    public SafetensorsWriter Metadata(string key, string value)
    {
        _metadata[key] = value;
        return this;
    }

    /// <summary>Writes the file (atomically: temp file, then rename).</summary>
    public void Save(string path)
    {
        using var header = new MemoryStream();
        long offset = 0;
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (_metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in _metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            foreach (var t in _tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType);
                json.WriteStartArray("shape");
                foreach (long d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.Bytes.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.Bytes.Length;
            }
            json.WriteEndObject();
        }
        while (header.Length % 8 != 0) header.WriteByte((byte)' ');
        string tmp = path + ".tmp";
        using (var f = File.Create(tmp))
        {
            Span<byte> len = stackalloc byte[8];
            BitConverter.TryWriteBytes(len, (ulong)header.Length);
            f.Write(len);
            header.Position = 0;
            header.CopyTo(f);
            foreach (var t in _tensors) f.Write(t.Bytes);
        }
        File.Move(tmp, path, overwrite: true);
    }

    private static void Check(string name, int length, long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != length) throw new ArgumentException($"tensor '{name}': {length} values for shape [{string.Join(", ", shape)}] ({count} expected)");
    }

    /// <summary>Encoding used for the header.</summary>
    public static Encoding HeaderEncoding => Encoding.UTF8;
}
