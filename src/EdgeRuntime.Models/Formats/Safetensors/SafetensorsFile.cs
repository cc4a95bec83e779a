using System.IO.MemoryMappedFiles;
using System.Text.Json;

namespace EdgeRuntime.Models.Formats.Safetensors;

/// <summary>Element type of a safetensors tensor.</summary>
public enum SafetensorsDType
{
    /// <summary>float32.</summary>
    F32,
    /// <summary>float16.</summary>
    F16,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>int32.</summary>
    I32,
    /// <summary>int64.</summary>
    I64,
}

/// <summary>One tensor's header entry, validated against the file.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
/// <param name="Offset">Absolute byte offset in the file.</param>
/// <param name="ByteLength">Byte length (= product(shape) × element size).</param>
public sealed record SafetensorsTensor(string Name, SafetensorsDType DType, long[] Shape, long Offset, long ByteLength)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Shape as text, e.g. <c>[128, 256]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>A memory-mapped <c>.safetensors</c> file whose header has been fully validated before any tensor is read.</summary>
/// <remarks>
/// Format: 8-byte little-endian header length N, N bytes of JSON <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}</c>,
/// then the data; offsets are relative to the end of the header. Every offset, length and shape is checked against the
/// file size. Immutable after construction; safe to read from several threads.
/// </remarks>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the format's own reference limit is 100 MB).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _base;
    private readonly Dictionary<string, SafetensorsTensor> _tensors;

    /// <summary>Opens, maps and validates <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">The file is truncated or its header is malformed; the message names the file and tensor.</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public SafetensorsFile(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        if (!File.Exists(Path)) throw new FileNotFoundException($"safetensors: file not found '{Path}'", Path);
        long length = new FileInfo(Path).Length;
        if (length < 8) throw Error($"file is {length} bytes, shorter than the 8-byte header length");
        _map = MemoryMappedFile.CreateFromFile(Path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _base);
        _base += _view.PointerOffset;
        FileLength = length;

        ulong headerLength = *(ulong*)_base;
        if (headerLength > (ulong)(length - 8))
            throw Error($"header length {headerLength} runs past the end of the {length}-byte file (truncated?)");
        if (headerLength > MaxHeaderBytes) throw Error($"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");
        DataOffset = 8 + (long)headerLength;
        (_tensors, Metadata) = ParseHeader(new ReadOnlySpan<byte>(_base + 8, (int)headerLength));
    }

    /// <summary>Full path of the file.</summary>
    public string Path { get; }

    /// <summary>File size in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Offset of the data section.</summary>
    public long DataOffset { get; }

    /// <summary>The optional <c>__metadata__</c> string map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>All tensors by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors => _tensors;

    /// <summary>Address of a tensor's first byte inside the mapping (valid until <see cref="Dispose"/>).</summary>
    public byte* Address(SafetensorsTensor tensor)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        return _base + tensor.Offset;
    }

    /// <summary>Finds a tensor.</summary>
    /// <exception cref="ModelFormatException">Missing.</exception>
    public SafetensorsTensor Get(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw Error($"tensor '{name}' is missing");

    /// <summary>Reads an F32 tensor as floats, checking its dtype.</summary>
    public float[] ReadF32(string name)
    {
        var t = Get(name);
        if (t.DType != SafetensorsDType.F32) throw Error($"tensor '{name}' has dtype {t.DType}, expected F32");
        return new ReadOnlySpan<float>(Address(t), checked((int)t.ElementCount)).ToArray();
    }

    /// <summary>Reads an I32 tensor, checking its dtype.</summary>
    public int[] ReadI32(string name)
    {
        var t = Get(name);
        if (t.DType != SafetensorsDType.I32) throw Error($"tensor '{name}' has dtype {t.DType}, expected I32");
        return new ReadOnlySpan<int>(Address(t), checked((int)t.ElementCount)).ToArray();
    }

    /// <summary>Creates a <see cref="ModelFormatException"/> whose message names this file.</summary>
    public ModelFormatException Error(string what) => new($"safetensors: {what} in '{Path}'");

    private (Dictionary<string, SafetensorsTensor>, IReadOnlyDictionary<string, string>) ParseHeader(ReadOnlySpan<byte> json)
    {
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        long dataLength = FileLength - DataOffset;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            throw Error($"header is not valid JSON ({ex.Message})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Error("header is not a JSON object");
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.NameEquals("__metadata__"))
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Error("'__metadata__' is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                var t = ParseTensor(prop.Name, prop.Value, dataLength);
                if (!tensors.TryAdd(t.Name, t)) throw Error($"tensor '{t.Name}' appears twice");
            }
        }
        return (tensors, metadata);
    }

    private SafetensorsTensor ParseTensor(string name, JsonElement e, long dataLength)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Error($"tensor '{name}' entry is not an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw Error($"tensor '{name}' has no string 'dtype'");
        var (dtype, size) = dt.GetString() switch
        {
            "F32" => (SafetensorsDType.F32, 4),
            "F16" => (SafetensorsDType.F16, 2),
            "BF16" => (SafetensorsDType.BF16, 2),
            "I32" => (SafetensorsDType.I32, 4),
            "I64" => (SafetensorsDType.I64, 8),
            var other => throw Error($"tensor '{name}' has dtype '{other}', expected one of F32, F16, BF16, I32, I64"),
        };
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw Error($"tensor '{name}' has no 'shape' array");
        var shape = new long[sh.GetArrayLength()];
        if (shape.Length > 8) throw Error($"tensor '{name}' has {shape.Length} dimensions, at most 8 are supported");
        long count = 1;
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0)
                throw Error($"tensor '{name}' has an invalid dimension {d.GetRawText()}");
            shape[i++] = v;
            if (v != 0 && count > long.MaxValue / v / size) throw Error($"tensor '{name}' shape overflows");
            count *= v;
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Error($"tensor '{name}' has no two-element 'data_offsets'");
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw Error($"tensor '{name}' has invalid data_offsets {off.GetRawText()}");
        if (end > dataLength)
            throw Error($"tensor '{name}' data_offsets [{begin}, {end}] run past the end of the data ({dataLength} bytes; truncated?)");
        if (end - begin != count * size)
            throw Error($"tensor '{name}' spans {end - begin} bytes, expected {count * size} for shape [{string.Join(", ", shape)}] of {dtype}");
        return new SafetensorsTensor(name, dtype, shape, DataOffset + begin, end - begin);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_base != null)
        {
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _base = null;
        }
        _view?.Dispose();
        _map?.Dispose();
    }
}
