using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace EdgeRuntime.Models.Formats.Safetensors;

/// <summary>Writes <c>.safetensors</c> files (F32 and I32 tensors, string metadata), as PyTorch's <c>safetensors.torch.save_file</c> lays them out.</summary>
/// <remarks>
/// The header is padded with spaces to a multiple of 8 bytes; tensors follow in insertion order, contiguous. Used by
/// <c>edgefw synth</c>, the training export and tests that build checkpoints on disk. Tensors added with
/// <see cref="AddStreamed"/> are produced chunk by chunk while <see cref="Save(string, IProgress{long}?)"/> writes them,
/// so a checkpoint larger than memory never exists as managed arrays. Not thread-safe.
/// </remarks>
public sealed class SafetensorsWriter
{
    /// <summary>Floats per chunk that <see cref="AddStreamed"/> producers fill (4 MiB).</summary>
    public const int StreamChunkFloats = 1 << 20;

    private readonly List<(string Name, string DType, long[] Shape, byte[]? Bytes, SafetensorsProducer? Producer, long ByteLength)> _tensors = [];
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    /// <summary>Adds an F32 tensor; <paramref name="data"/> must hold product(shape) floats.</summary>
    public SafetensorsWriter Add(string name, ReadOnlySpan<float> data, params long[] shape)
    {
        Check(name, data.Length, shape);
        var bytes = MemoryMarshal.AsBytes(data).ToArray();
        _tensors.Add((name, "F32", shape, bytes, null, bytes.Length));
        return this;
    }

    /// <summary>Adds an I32 tensor.</summary>
    public SafetensorsWriter Add(string name, ReadOnlySpan<int> data, params long[] shape)
    {
        Check(name, data.Length, shape);
        var bytes = MemoryMarshal.AsBytes(data).ToArray();
        _tensors.Add((name, "I32", shape, bytes, null, bytes.Length));
        return this;
    }

    /// <summary>Adds an F32 tensor whose values <paramref name="producer"/> writes at save time, in consecutive chunks of at
    /// most <see cref="StreamChunkFloats"/> floats (the first chunk starts at element 0, each next one where the last ended).</summary>
    /// <param name="name">Tensor name.</param>
    /// <param name="shape">Shape; its product is the element count.</param>
    /// <param name="producer">Fills one chunk; called only from <see cref="Save(string, IProgress{long}?)"/>, in order.</param>
    public SafetensorsWriter AddStreamed(string name, long[] shape, SafetensorsProducer producer)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(producer);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count < 0 || shape.Any(d => d < 0)) throw new ArgumentException($"tensor '{name}': negative dimension in [{string.Join(", ", shape)}]");
        _tensors.Add((name, "F32", shape, null, producer, count * sizeof(float)));
        return this;
    }

    /// <summary>Adds a <c>__metadata__</c> entry.</summary>
    public SafetensorsWriter Metadata(string key, string value)
    {
        _metadata[key] = value;
        return this;
    }

    /// <summary>Total bytes of tensor data the file will hold.</summary>
    public long DataBytes => _tensors.Sum(t => t.ByteLength);

    /// <summary>Writes the file (atomically: temp file, then rename).</summary>
    public void Save(string path) => Save(path, null);

    /// <summary>Writes the file (atomically: temp file, then rename), reporting the tensor bytes written so far.</summary>
    /// <param name="path">Output file.</param>
    /// <param name="progress">Receives the running total of data bytes written; may be null.</param>
    public void Save(string path, IProgress<long>? progress)
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
                json.WriteNumberValue(offset + t.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.ByteLength;
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
            long written = 0;
            float[]? chunk = null;
            foreach (var t in _tensors)
            {
                if (t.Bytes is not null)
                {
                    f.Write(t.Bytes);
                    written += t.Bytes.Length;
                    progress?.Report(written);
                    continue;
                }
                chunk ??= new float[StreamChunkFloats];
                long count = t.ByteLength / sizeof(float);
                for (long start = 0; start < count; start += StreamChunkFloats)
                {
                    var span = chunk.AsSpan(0, (int)Math.Min(StreamChunkFloats, count - start));
                    t.Producer!(start, span);
                    f.Write(MemoryMarshal.AsBytes(span));
                    written += span.Length * sizeof(float);
                    progress?.Report(written);
                }
            }
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

/// <summary>Fills one chunk of a streamed tensor: <paramref name="destination"/> receives elements
/// <c>[start, start + destination.Length)</c> of the tensor in row-major order.</summary>
public delegate void SafetensorsProducer(long start, Span<float> destination);
