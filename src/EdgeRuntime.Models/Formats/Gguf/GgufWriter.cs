using System.Text;

namespace EdgeRuntime.Models.Formats.Gguf;

/// <summary>Writes GGUF v3 files (little-endian) exactly as ggml-org/ggml docs/gguf.md lays them out.</summary>
/// <remarks>
/// Order: magic <c>GGUF</c>, uint32 version 3, uint64 tensor count, uint64 metadata count, the metadata in insertion order
/// (uint64-length key, uint32 type, value; arrays as uint32 element type + uint64 count + elements), the tensor infos
/// (name, uint32 n_dims, uint64 ne[] innermost first, uint32 ggml type, uint64 offset relative to the data section), zero
/// padding to the alignment, then each tensor's data followed by zero padding to the alignment (as ggml's
/// <c>gguf_write_out</c> does). Tensor data can be given as bytes or produced while saving by a callback, so converting a
/// large model never holds all of it in memory. Not thread-safe.
/// </remarks>
public sealed class GgufWriter
{
    /// <summary>Format version written.</summary>
    public const uint Version = 3;

    /// <summary>Longest tensor name ggml loads (<c>GGML_MAX_NAME</c> = 64 including the terminator).</summary>
    public const int MaxTensorNameBytes = 63;

    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private long _dataLength;

    /// <summary>Creates a writer; <paramref name="alignment"/> (a power of two) pads the data section and every tensor.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a power of two.</exception>
    public GgufWriter(uint alignment = GgufReader.DefaultAlignment)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "gguf: alignment must be a power of two");
        Alignment = alignment;
    }

    /// <summary>Data alignment in bytes.</summary>
    public uint Alignment { get; }

    /// <summary>Metadata added so far, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata => _metadata;

    /// <summary>Tensors added so far: name, type, ggml dims, offset within the data section, byte length.</summary>
    public IEnumerable<(string Name, GgmlType Type, long[] Dimensions, long Offset, long ByteLength)> Tensors =>
        _tensors.Select(t => (t.Name, t.Type, t.Dimensions, t.Offset, t.ByteLength));

    /// <summary>Adds a metadata entry.</summary>
    /// <exception cref="ArgumentException">Empty, non-ASCII, too long or duplicate key; or <c>general.alignment</c> that is
    /// not a uint32 equal to <see cref="Alignment"/>.</exception>
    public GgufWriter Add(string key, GgufValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (string.IsNullOrEmpty(key)) throw new ArgumentException("gguf: metadata key is empty", nameof(key));
        if (key.Length > GgufReader.MaxKeyLength) throw new ArgumentException($"gguf: metadata key '{key[..64]}…' is longer than {GgufReader.MaxKeyLength} bytes", nameof(key));
        foreach (char c in key)
            if (c is < ' ' or > '~') throw new ArgumentException($"gguf: metadata key '{key}' is not printable ASCII", nameof(key));
        if (key == "general.alignment" && (value.Type != GgufValueType.UInt32 || (uint)value.Value != Alignment))
            throw new ArgumentException($"gguf: 'general.alignment' must be uint32 {Alignment} (this writer's alignment), got {value.ToDisplayString()}", nameof(value));
        if (!_keys.Add(key)) throw new ArgumentException($"gguf: metadata key '{key}' was already added", nameof(key));
        _metadata.Add(new(key, value));
        return this;
    }

#pragma warning disable CS1591 // typed shorthands for Add(key, GgufValue.X(value)).
    public GgufWriter Add(string key, string value) => Add(key, GgufValue.String(value));
    public GgufWriter Add(string key, uint value) => Add(key, GgufValue.UInt32(value));
    public GgufWriter Add(string key, int value) => Add(key, GgufValue.Int32(value));
    public GgufWriter Add(string key, float value) => Add(key, GgufValue.Float32(value));
    public GgufWriter Add(string key, bool value) => Add(key, GgufValue.Bool(value));
#pragma warning restore CS1591

    /// <summary>Adds a tensor whose bytes are already in memory.</summary>
    /// <param name="name">Tensor name (at most 63 UTF-8 bytes).</param>
    /// <param name="type">Element type.</param>
    /// <param name="dimensions">ggml order, innermost first (a PyTorch <c>[rows, cols]</c> matrix is <c>[cols, rows]</c>).</param>
    /// <param name="data">Exactly the tensor's byte length.</param>
    /// <exception cref="ArgumentException">Bad name, dimensions, type or data length.</exception>
    public GgufWriter AddTensor(string name, GgmlType type, long[] dimensions, ReadOnlyMemory<byte> data)
    {
        long bytes = CheckTensor(name, type, dimensions);
        if (data.Length != bytes) throw new ArgumentException($"gguf: tensor '{name}' has {data.Length} data bytes, expected {bytes}", nameof(data));
        return Append(name, type, dimensions, bytes, s => s.Write(data.Span));
    }

    /// <summary>Adds a tensor whose bytes <paramref name="writeData"/> writes to the output while saving (exactly
    /// the tensor's byte length; checked).</summary>
    /// <exception cref="ArgumentException">Bad name, dimensions or type.</exception>
    public GgufWriter AddTensor(string name, GgmlType type, long[] dimensions, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        return Append(name, type, dimensions, CheckTensor(name, type, dimensions), writeData);
    }

    /// <summary>Byte length of a tensor of <paramref name="type"/> with <paramref name="dimensions"/> (ggml order).</summary>
    public static long ByteLength(GgmlType type, ReadOnlySpan<long> dimensions)
    {
        long elements = 1;
        foreach (long d in dimensions) elements = checked(elements * d);
        return checked(elements / GgmlTypeInfo.BlockSize(type) * GgmlTypeInfo.TypeSize(type));
    }

    /// <summary>Writes the file atomically (a temporary file, then a rename).</summary>
    public void Save(string path)
    {
        string tmp = path + ".tmp";
        try
        {
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                WriteTo(f);
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Writes the whole file to <paramref name="output"/>.</summary>
    public void WriteTo(Stream output)
    {
        var counting = new CountingStream(output);
        using (var w = new BinaryWriter(counting, Encoding.UTF8, leaveOpen: true))
        {
            w.Write((byte)'G'); w.Write((byte)'G'); w.Write((byte)'U'); w.Write((byte)'F');
            w.Write(Version);
            w.Write((ulong)_tensors.Count);
            w.Write((ulong)_metadata.Count);
            foreach (var (key, value) in _metadata)
            {
                WriteString(w, key);
                w.Write((uint)value.Type);
                WriteValue(w, value);
            }
            foreach (var t in _tensors)
            {
                WriteString(w, t.Name);
                w.Write((uint)t.Dimensions.Length);
                foreach (long d in t.Dimensions) w.Write((ulong)d);
                w.Write((uint)t.Type);
                w.Write((ulong)t.Offset);
            }
            w.Flush();
        }
        Pad(counting);
        long dataStart = counting.Written;
        foreach (var t in _tensors)
        {
            long before = counting.Written;
            if (before - dataStart != t.Offset) throw new InvalidOperationException($"gguf: tensor '{t.Name}' landed at {before - dataStart}, expected {t.Offset}");
            t.WriteData(counting);
            long written = counting.Written - before;
            if (written != t.ByteLength) throw new InvalidOperationException($"gguf: tensor '{t.Name}' data writer wrote {written} bytes, expected {t.ByteLength}");
            Pad(counting);
        }
    }

    private long CheckTensor(string name, GgmlType type, long[] dimensions)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("gguf: tensor name is empty", nameof(name));
        int nameBytes = Encoding.UTF8.GetByteCount(name);
        if (nameBytes > MaxTensorNameBytes)
            throw new ArgumentException($"gguf: tensor name '{name}' is {nameBytes} bytes, ggml allows at most {MaxTensorNameBytes}", nameof(name));
        if (_names.Contains(name)) throw new ArgumentException($"gguf: tensor '{name}' was already added", nameof(name));
        if (!GgmlTypeInfo.IsKnown((uint)type)) throw new ArgumentException($"gguf: tensor '{name}' has unknown ggml type {(uint)type}", nameof(type));
        if (dimensions.Length is 0 or > 4) throw new ArgumentException($"gguf: tensor '{name}' has {dimensions.Length} dimensions, expected 1 to 4", nameof(dimensions));
        foreach (long d in dimensions)
            if (d <= 0) throw new ArgumentException($"gguf: tensor '{name}' has dimension {d}, expected > 0", nameof(dimensions));
        int block = GgmlTypeInfo.BlockSize(type);
        if (dimensions[0] % block != 0)
            throw new ArgumentException($"gguf: tensor '{name}' has {dimensions[0]} elements per row, not a multiple of the {GgmlTypeInfo.Name(type)} block size {block}", nameof(dimensions));
        return ByteLength(type, dimensions);
    }

    private GgufWriter Append(string name, GgmlType type, long[] dimensions, long bytes, Action<Stream> writeData)
    {
        _names.Add(name);
        _tensors.Add(new PendingTensor(name, type, (long[])dimensions.Clone(), _dataLength, bytes, writeData));
        _dataLength += GgufReader.AlignUp(bytes, Alignment);
        return this;
    }

    private void Pad(CountingStream s)
    {
        int pad = (int)(GgufReader.AlignUp(s.Written, Alignment) - s.Written);
        if (pad > 0) s.Write(new byte[pad]);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValue v)
    {
        if (v.IsArray)
        {
            w.Write((uint)v.ElementType);
            w.Write((ulong)v.Count);
        }
        switch (v.Value)
        {
            case byte x: w.Write(x); break;
            case sbyte x: w.Write(x); break;
            case ushort x: w.Write(x); break;
            case short x: w.Write(x); break;
            case uint x: w.Write(x); break;
            case int x: w.Write(x); break;
            case float x: w.Write(x); break;
            case bool x: w.Write((byte)(x ? 1 : 0)); break;
            case string x: WriteString(w, x); break;
            case ulong x: w.Write(x); break;
            case long x: w.Write(x); break;
            case double x: w.Write(x); break;
            case byte[] a: w.Write(a); break;
            case sbyte[] a: foreach (var x in a) w.Write(x); break;
            case ushort[] a: foreach (var x in a) w.Write(x); break;
            case short[] a: foreach (var x in a) w.Write(x); break;
            case uint[] a: foreach (var x in a) w.Write(x); break;
            case int[] a: foreach (var x in a) w.Write(x); break;
            case float[] a: foreach (var x in a) w.Write(x); break;
            case bool[] a: foreach (var x in a) w.Write((byte)(x ? 1 : 0)); break;
            case string[] a: foreach (var x in a) WriteString(w, x); break;
            case ulong[] a: foreach (var x in a) w.Write(x); break;
            case long[] a: foreach (var x in a) w.Write(x); break;
            case double[] a: foreach (var x in a) w.Write(x); break;
            case GgufValue[] a: foreach (var x in a) WriteValue(w, x); break;
            default: throw new InvalidOperationException($"gguf: cannot write a value of CLR type {v.Value.GetType().Name}");
        }
    }

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Dimensions, long Offset, long ByteLength, Action<Stream> WriteData);

    /// <summary>Write-only pass-through that counts bytes (offsets and data lengths are checked against it).</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Written { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Written += buffer.Length;
        }
        public override void WriteByte(byte value) => Write([value]);
    }
}
