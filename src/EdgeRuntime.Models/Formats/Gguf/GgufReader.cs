using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text;

namespace EdgeRuntime.Models.Formats.Gguf;

/// <summary>A memory-mapped GGUF file (v2 or v3, little-endian) whose header, metadata and tensor table are fully
/// validated before any tensor is read.</summary>
/// <remarks>
/// Layout (ggml-org/ggml docs/gguf.md): magic <c>GGUF</c>, uint32 version, uint64 tensor count, uint64 metadata count,
/// metadata key-value pairs, tensor infos (name, uint32 n_dims, uint64 ne[n_dims] innermost first, uint32 ggml type,
/// uint64 offset relative to the data section), zero padding to <c>general.alignment</c> (default 32), tensor data.
/// Every count, length and offset read from the file is checked against the bytes that remain before anything is
/// allocated for it, so a corrupt file gives a <see cref="ModelFormatException"/> naming the file, the entry and the
/// problem, never a huge allocation or an out-of-range read. Immutable after construction; safe to read from several threads.
/// </remarks>
public sealed unsafe class GgufReader : IDisposable
{
    /// <summary>Newest format version this build reads.</summary>
    public const uint MaxVersion = 3;

    /// <summary>Alignment when <c>general.alignment</c> is absent.</summary>
    public const uint DefaultAlignment = 32;

    /// <summary>Longest metadata key the spec allows (2^16 − 1 bytes).</summary>
    public const int MaxKeyLength = 65535;

    private const int MaxArrayDepth = 8;
    private const int MinKvBytes = 8 + 1 + 4 + 1;            // key length, 1-byte key, type, 1-byte value
    private const int MinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8; // name length, 1-byte name, n_dims, one dim, type, offset
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _base;
    private long _pos;
    private readonly List<GgufTensorInfo> _tensors = [];
    private readonly Dictionary<string, GgufTensorInfo> _byName = new(StringComparer.Ordinal);

    /// <summary>Opens, maps and validates <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">Malformed or truncated; the message names the file and the entry.</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public GgufReader(string path)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("gguf: this reader needs a little-endian host");
        Path = System.IO.Path.GetFullPath(path);
        if (!File.Exists(Path)) throw new FileNotFoundException($"gguf: file not found '{Path}'", Path);
        FileLength = new FileInfo(Path).Length;
        if (FileLength < 4) throw Error($"file is {FileLength} bytes, too short for the 4-byte magic 'GGUF'");
        try
        {
            _map = MemoryMappedFile.CreateFromFile(Path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _base);
            _base += _view.PointerOffset;
            Metadata = ParseHeaderAndMetadata();
            Alignment = ReadAlignment();
            ParseTensorInfos(TensorCount);
            DataOffset = AlignUp(_pos, Alignment);
            ValidateTensorData();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Full path of the file.</summary>
    public string Path { get; }

    /// <summary>File size in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Format version (2 or 3).</summary>
    public uint Version { get; private set; }

    /// <summary>Number of tensors.</summary>
    public long TensorCount { get; private set; }

    /// <summary>Data alignment (<c>general.alignment</c>, default 32).</summary>
    public uint Alignment { get; }

    /// <summary>Absolute offset of the data section.</summary>
    public long DataOffset { get; }

    /// <summary>The metadata, in file order.</summary>
    public GgufMetadata Metadata { get; } = null!;

    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => _tensors;

    /// <summary>A tensor by name, or null.</summary>
    public GgufTensorInfo? FindTensor(string name) => _byName.GetValueOrDefault(name);

    /// <summary>A tensor by name.</summary>
    /// <exception cref="ModelFormatException">Missing.</exception>
    public GgufTensorInfo GetTensor(string name) => FindTensor(name) ?? throw Error($"tensor '{name}' is missing");

    /// <summary>Address of a tensor's first byte inside the mapping (valid until <see cref="Dispose"/>).</summary>
    public byte* Address(GgufTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        return _base + tensor.Offset;
    }

    /// <summary>A tensor's bytes (tensors up to 2 GiB; use <see cref="Address"/> beyond).</summary>
    public ReadOnlySpan<byte> TensorBytes(GgufTensorInfo tensor) => new(Address(tensor), checked((int)tensor.ByteLength));

    /// <summary>Creates a <see cref="ModelFormatException"/> whose message names this file.</summary>
    public ModelFormatException Error(string what) => new($"gguf: {what} in '{Path}'");

    private GgufMetadata ParseHeaderAndMetadata()
    {
        Need(4, "magic");
        if (_base[0] != 'G' || _base[1] != 'G' || _base[2] != 'U' || _base[3] != 'F')
            throw Error($"magic is {Convert.ToHexString(new ReadOnlySpan<byte>(_base, 4))}, expected 47475546 ('GGUF'); not a GGUF file");
        _pos = 4;
        uint version = U32("version");
        if (version == 0) throw Error("file is version 0, which does not exist");
        if ((version & 0xFFFF) == 0 && System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(version) <= MaxVersion)
            throw Error($"file appears to be big-endian (version field 0x{version:X8}); this build reads little-endian files only");
        if (version == 1) throw Error("file is version 1 (GGUFv1, 32-bit lengths), which this build does not read; re-convert it to version 3");
        if (version > MaxVersion) throw Error($"file is version {version} but this build reads up to version {MaxVersion}");
        Version = version;
        ulong tensorCount = U64("tensor count");
        ulong kvCount = U64("metadata count");
        ulong remaining = (ulong)Remaining;
        if (kvCount > remaining / MinKvBytes)
            throw Error($"metadata count {kvCount} needs at least {(UInt128)kvCount * MinKvBytes} bytes but only {remaining} remain (truncated or corrupt header)");
        if (tensorCount > remaining / MinTensorInfoBytes)
            throw Error($"tensor count {tensorCount} needs at least {(UInt128)tensorCount * MinTensorInfoBytes} bytes but only {remaining} remain (truncated or corrupt header)");
        if (kvCount * MinKvBytes + tensorCount * MinTensorInfoBytes > remaining)
            throw Error($"{kvCount} metadata entries and {tensorCount} tensor infos need at least {kvCount * MinKvBytes + tensorCount * MinTensorInfoBytes} bytes but only {remaining} remain (truncated?)");
        TensorCount = (long)tensorCount;

        var items = new List<KeyValuePair<string, GgufValue>>((int)kvCount);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < (long)kvCount; i++)
        {
            string key = ReadString($"key of metadata entry {i}", MaxKeyLength);
            if (key.Length == 0) throw Error($"metadata entry {i} has an empty key");
            if (!seen.Add(key)) throw Error($"metadata key '{key}' appears twice");
            uint type = U32($"value type of metadata key '{key}'");
            if (type > (uint)GgufValueType.Float64) throw Error($"metadata key '{key}' has unknown value type {type}, expected 0..12");
            items.Add(new(key, ReadValue((GgufValueType)type, key, 0)));
        }
        return new GgufMetadata(Path, items);
    }

    private uint ReadAlignment()
    {
        var v = Metadata.Find("general.alignment");
        if (v is null) return DefaultAlignment;
        if (v.Type != GgufValueType.UInt32) throw Error($"metadata key 'general.alignment': expected uint32, got {v.TypeName}");
        uint a = (uint)v.Value;
        if (a == 0 || (a & (a - 1)) != 0) throw Error($"metadata key 'general.alignment' is {a}, expected a power of two");
        return a;
    }

    private void ParseTensorInfos(long count)
    {
        for (long i = 0; i < count; i++)
        {
            string name = ReadString($"name of tensor {i}", MaxKeyLength);
            if (name.Length == 0) throw Error($"tensor {i} has an empty name");
            if (_byName.ContainsKey(name)) throw Error($"tensor '{name}' appears twice");
            uint nDims = U32($"dimension count of tensor '{name}'");
            if (nDims is 0 or > 4) throw Error($"tensor '{name}' has {nDims} dimensions, expected 1 to 4");
            var dims = new long[nDims];
            long elements = 1;
            for (int j = 0; j < nDims; j++)
            {
                ulong d = U64($"dimension {j} of tensor '{name}'");
                if (d == 0 || d > long.MaxValue) throw Error($"tensor '{name}' dimension {j} is {d}, expected 1..{long.MaxValue}");
                dims[j] = (long)d;
                if (elements > long.MaxValue / dims[j]) throw Error($"tensor '{name}' element count overflows (ne = [{string.Join(", ", dims[..(j + 1)])}, …])");
                elements *= dims[j];
            }
            uint typeId = U32($"type of tensor '{name}'");
            if (!GgmlTypeInfo.IsKnown(typeId)) throw Error($"tensor '{name}' has unknown ggml type id {typeId}");
            var type = (GgmlType)typeId;
            int block = GgmlTypeInfo.BlockSize(type), typeSize = GgmlTypeInfo.TypeSize(type);
            if (dims[0] % block != 0)
                throw Error($"tensor '{name}' has {dims[0]} elements per row, not a multiple of the {GgmlTypeInfo.Name(type)} block size {block}");
            if (elements / block > long.MaxValue / typeSize) throw Error($"tensor '{name}' byte size overflows");
            long bytes = elements / block * typeSize;
            ulong offset = U64($"offset of tensor '{name}'");
            if (offset % Alignment != 0) throw Error($"tensor '{name}' has offset {offset}, not a multiple of the alignment {Alignment}");
            if (offset > long.MaxValue) throw Error($"tensor '{name}' has offset {offset}, past any file");
            var t = new GgufTensorInfo(name, type, dims, (long)offset, bytes); // Offset made absolute in ValidateTensorData.
            _tensors.Add(t);
            _byName.Add(name, t);
        }
    }

    private void ValidateTensorData()
    {
        if (_tensors.Count == 0) return;
        if (DataOffset > FileLength)
            throw Error($"data section starts at {DataOffset}, past the end of the {FileLength}-byte file (truncated?)");
        long dataLength = FileLength - DataOffset;
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            if (t.Offset > dataLength || t.ByteLength > dataLength - t.Offset)
                throw Error($"tensor '{t.Name}' data [{t.Offset}, {(UInt128)(ulong)t.Offset + (ulong)t.ByteLength}) of the data section runs past its end ({dataLength} bytes; truncated?)");
            var absolute = t with { Offset = DataOffset + t.Offset };
            _tensors[i] = absolute;
            _byName[t.Name] = absolute;
        }
        var ordered = _tensors.OrderBy(t => t.Offset).ToArray();
        for (int i = 1; i < ordered.Length; i++)
            if (ordered[i - 1].Offset + ordered[i - 1].ByteLength > ordered[i].Offset)
                throw Error($"tensors '{ordered[i - 1].Name}' and '{ordered[i].Name}' overlap");
    }

    private GgufValue ReadValue(GgufValueType type, string key, int depth) => type switch
    {
        GgufValueType.UInt8 => GgufValue.UInt8(Fixed<byte>(key)),
        GgufValueType.Int8 => GgufValue.Int8(Fixed<sbyte>(key)),
        GgufValueType.UInt16 => GgufValue.UInt16(Fixed<ushort>(key)),
        GgufValueType.Int16 => GgufValue.Int16(Fixed<short>(key)),
        GgufValueType.UInt32 => GgufValue.UInt32(Fixed<uint>(key)),
        GgufValueType.Int32 => GgufValue.Int32(Fixed<int>(key)),
        GgufValueType.Float32 => GgufValue.Float32(Fixed<float>(key)),
        GgufValueType.UInt64 => GgufValue.UInt64(Fixed<ulong>(key)),
        GgufValueType.Int64 => GgufValue.Int64(Fixed<long>(key)),
        GgufValueType.Float64 => GgufValue.Float64(Fixed<double>(key)),
        GgufValueType.Bool => GgufValue.Bool(Bool(Fixed<byte>(key), key)),
        GgufValueType.String => GgufValue.String(ReadString($"value of metadata key '{key}'", int.MaxValue)),
        _ => ReadArray(key, depth),
    };

    private GgufValue ReadArray(string key, int depth)
    {
        if (depth >= MaxArrayDepth) throw Error($"metadata key '{key}' nests arrays deeper than {MaxArrayDepth} levels");
        uint elementId = U32($"array element type of metadata key '{key}'");
        if (elementId > (uint)GgufValueType.Float64) throw Error($"metadata key '{key}' is an array of unknown value type {elementId}, expected 0..12");
        var element = (GgufValueType)elementId;
        ulong n = U64($"array length of metadata key '{key}'");
        int size = GgufValue.FixedSize(element);
        int minSize = size > 0 ? size : element == GgufValueType.String ? 8 : 12;
        if (n > (ulong)(Remaining / minSize))
            throw Error($"metadata key '{key}' claims {n} elements of {GgufValue.TypeNameOf(element)}, needing at least {(UInt128)n * (uint)minSize} bytes, but only {Remaining} remain (truncated or corrupt)");
        if (n > (ulong)Array.MaxLength) throw Error($"metadata key '{key}' claims {n} elements, more than an array can hold");
        int count = (int)n;
        switch (element)
        {
            case GgufValueType.UInt8: return GgufValue.Array(FixedArray<byte>(count));
            case GgufValueType.Int8: return GgufValue.Array(FixedArray<sbyte>(count));
            case GgufValueType.UInt16: return GgufValue.Array(FixedArray<ushort>(count));
            case GgufValueType.Int16: return GgufValue.Array(FixedArray<short>(count));
            case GgufValueType.UInt32: return GgufValue.Array(FixedArray<uint>(count));
            case GgufValueType.Int32: return GgufValue.Array(FixedArray<int>(count));
            case GgufValueType.Float32: return GgufValue.Array(FixedArray<float>(count));
            case GgufValueType.UInt64: return GgufValue.Array(FixedArray<ulong>(count));
            case GgufValueType.Int64: return GgufValue.Array(FixedArray<long>(count));
            case GgufValueType.Float64: return GgufValue.Array(FixedArray<double>(count));
            case GgufValueType.Bool:
                {
                    var bytes = FixedArray<byte>(count);
                    var bools = new bool[count];
                    for (int i = 0; i < count; i++) bools[i] = Bool(bytes[i], $"{key}[{i}]");
                    return GgufValue.Array(bools);
                }
            case GgufValueType.String:
                {
                    var strings = new string[count];
                    for (int i = 0; i < count; i++) strings[i] = ReadString($"element {i} of metadata key '{key}'", int.MaxValue);
                    return GgufValue.Array(strings);
                }
            default:
                {
                    var arrays = new GgufValue[count];
                    for (int i = 0; i < count; i++) arrays[i] = ReadArray($"{key}[{i}]", depth + 1);
                    return GgufValue.Array(arrays);
                }
        }
    }

    private bool Bool(byte b, string key) =>
        b <= 1 ? b == 1 : throw Error($"metadata key '{key}' has bool byte {b}, expected 0 or 1");

    private string ReadString(string what, int maxLength)
    {
        ulong length = U64($"length of the {what}");
        if (length > (ulong)Remaining)
            throw Error($"string length {length} of the {what} at offset {_pos - 8} runs past the end of the file ({Remaining} bytes remain; truncated or corrupt)");
        if (length > (ulong)maxLength) throw Error($"string length {length} of the {what} exceeds the limit of {maxLength} bytes");
        string s;
        try
        {
            s = s_utf8.GetString(new ReadOnlySpan<byte>(_base + _pos, (int)length));
        }
        catch (DecoderFallbackException)
        {
            throw Error($"the {what} at offset {_pos} is not valid UTF-8");
        }
        _pos += (long)length;
        return s;
    }

    private T Fixed<T>(string key) where T : unmanaged
    {
        Need(sizeof(T), $"value of metadata key '{key}'");
        T v = *(T*)(_base + _pos);
        _pos += sizeof(T);
        return v;
    }

    private T[] FixedArray<T>(int count) where T : unmanaged
    {
        // The caller checked count·sizeof(T) <= Remaining.
        var a = new T[count];
        new ReadOnlySpan<T>(_base + _pos, count).CopyTo(a);
        _pos += (long)count * sizeof(T);
        return a;
    }

    private uint U32(string what)
    {
        Need(4, what);
        uint v = *(uint*)(_base + _pos);
        _pos += 4;
        return v;
    }

    private ulong U64(string what)
    {
        Need(8, what);
        ulong v = *(ulong*)(_base + _pos);
        _pos += 8;
        return v;
    }

    private long Remaining => FileLength - _pos;

    private void Need(long bytes, string what)
    {
        if (Remaining < bytes)
            throw Error($"{what} at offset {_pos} needs {bytes} bytes but only {Remaining} remain (truncated?)");
    }

    internal static long AlignUp(long offset, uint alignment) => offset + (alignment - offset % alignment) % alignment;

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
