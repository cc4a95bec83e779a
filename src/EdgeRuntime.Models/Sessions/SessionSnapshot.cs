using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Models.Sessions;

/// <summary>What a snapshot must match to be loaded: the model that wrote it and the lengths of its state.</summary>
/// <param name="ModelHash">The <see cref="ModelFingerprint"/> of the model (32 bytes).</param>
/// <param name="Family">"based", "transnormer" or "aaren".</param>
/// <param name="Dimensions">The model's hyper-parameters (<see cref="ModelInfo.Dimensions"/>), compared key by key.</param>
/// <param name="StateLength">Floats of the state block.</param>
/// <param name="ExtraLength">Floats stored after the state (a language model's last logits; 0 for a sequence model).</param>
/// <remarks>Immutable; safe to share.</remarks>
public sealed record SnapshotIdentity(
    byte[] ModelHash,
    string Family,
    IReadOnlyList<KeyValuePair<string, string>> Dimensions,
    int StateLength,
    int ExtraLength)
{
    /// <summary>Floats of the payload: state then extra.</summary>
    public int PayloadLength => StateLength + ExtraLength;
}

/// <summary>The session facts a snapshot carries besides the floats.</summary>
/// <param name="Position">Tokens (or steps) the state has consumed.</param>
/// <param name="PendingToken">A generated token not yet fed to the model (generation feeds it lazily), or -1.</param>
public readonly record struct SnapshotState(long Position, int PendingToken);

/// <summary>A snapshot file is unreadable, corrupt, of a newer format, or was written by another model; it was not loaded.</summary>
public sealed class SessionSnapshotException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SessionSnapshotException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>Versioned, checksummed session-state files, written atomically (temp file + rename).</summary>
/// <remarks>
/// <para>Layout (little-endian): <c>"EDGESNAP"</c>; u32 format version (1); u32 header length H (bytes before the payload);
/// 32-byte model fingerprint; u8 dtype (ggml id, F32 = 0) and 3 zero bytes; i64 position; i32 pending token; u32 state
/// floats; u32 extra floats; u64 payload bytes; u16 + UTF-8 family; u16 dimension count, each u16 + UTF-8 key and u16 +
/// UTF-8 value; u32 CRC-32 of the payload; u32 CRC-32 of the header bytes before it. Then the payload: state floats, then
/// extra floats.</para>
/// <para>Reading validates everything before it trusts anything: magic, version, lengths against the file size, both
/// checksums, then family, dimensions, lengths and fingerprint against the loaded model. Errors name the file and the
/// field with expected and actual values. Stateless; safe from any thread (concurrent writes of one path are the
/// caller's business).</para>
/// </remarks>
public static class SessionSnapshot
{
    /// <summary>The format version this build writes and reads.</summary>
    public const uint FormatVersion = 1;

    private const int FixedHeaderLength = 80;
    private const int MaxHeaderLength = 1 << 20;

    /// <summary>The 8 magic bytes at the start of every snapshot.</summary>
    public static ReadOnlySpan<byte> Magic => "EDGESNAP"u8;

    /// <summary>Writes a snapshot atomically: a temporary file beside <paramref name="path"/>, flushed to disk, then renamed over it.</summary>
    /// <exception cref="ArgumentException"><paramref name="payload"/> is not <see cref="SnapshotIdentity.PayloadLength"/> floats.</exception>
    /// <exception cref="IOException">The file could not be written (the old snapshot, if any, is left intact).</exception>
    public static void Write(string path, SnapshotIdentity identity, SnapshotState state, ReadOnlySpan<float> payload)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(identity);
        if (identity.ModelHash.Length != ModelFingerprint.Length)
            throw new ArgumentException($"snapshot: model hash is {identity.ModelHash.Length} bytes, expected {ModelFingerprint.Length}", nameof(identity));
        if (payload.Length != identity.PayloadLength)
            throw new ArgumentException($"snapshot: payload is {payload.Length} floats, expected {identity.PayloadLength}", nameof(payload));

        var payloadBytes = MemoryMarshal.AsBytes(payload);
        byte[] header = BuildHeader(identity, state, payloadBytes);
        string temp = path + ".tmp-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                stream.Write(header);
                stream.Write(payloadBytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Reads the snapshot at <paramref name="path"/> into <paramref name="payload"/> after checking it belongs to <paramref name="expected"/>.</summary>
    /// <returns>The position and pending token it carries.</returns>
    /// <exception cref="SessionSnapshotException">Corrupt, truncated, a newer format, or written by another model; <paramref name="payload"/> may be partly overwritten.</exception>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    public static SnapshotState Read(string path, SnapshotIdentity expected, Span<float> payload)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(expected);
        if (payload.Length != expected.PayloadLength)
            throw new ArgumentException($"snapshot: payload is {payload.Length} floats, expected {expected.PayloadLength}", nameof(payload));

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        long fileLength = stream.Length;
        if (fileLength < FixedHeaderLength) Fail(path, "file", $"at least {FixedHeaderLength} bytes", $"{fileLength} bytes (truncated)");

        Span<byte> start = stackalloc byte[16];
        stream.ReadExactly(start);
        if (!start[..8].SequenceEqual(Magic)) Fail(path, "magic", "\"EDGESNAP\"", Printable(start[..8]), "not a session snapshot");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(start[8..]);
        if (version != FormatVersion) Fail(path, "format version", $"{FormatVersion}", $"{version}", version > FormatVersion ? "written by a newer edge-runtime" : null);
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(start[12..]);
        if (headerLength < FixedHeaderLength + 12 || headerLength > MaxHeaderLength || headerLength > fileLength)
            Fail(path, "header length", $"{FixedHeaderLength + 12}..{Math.Min(MaxHeaderLength, fileLength)}", $"{headerLength}", "corrupt");

        var header = new byte[headerLength];
        start.CopyTo(header);
        stream.ReadExactly(header.AsSpan(16));
        uint headerCrc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan((int)headerLength - 4));
        uint actualHeaderCrc = Crc32.Compute(header.AsSpan(0, (int)headerLength - 4));
        if (headerCrc != actualHeaderCrc) Fail(path, "header checksum", $"0x{headerCrc:x8}", $"0x{actualHeaderCrc:x8}", "corrupt");

        var reader = new HeaderReader(header, path);
        reader.Skip(16);
        byte[] modelHash = reader.Bytes(ModelFingerprint.Length).ToArray();
        var dtype = (DType)reader.Byte();
        reader.Skip(3);
        long position = reader.Int64();
        int pending = reader.Int32();
        uint stateLength = reader.UInt32();
        uint extraLength = reader.UInt32();
        ulong payloadBytes = reader.UInt64();
        string family = reader.String();
        int dimensionCount = reader.UInt16();
        var dimensions = new List<KeyValuePair<string, string>>(dimensionCount);
        for (int i = 0; i < dimensionCount; i++) dimensions.Add(new(reader.String(), reader.String()));
        uint payloadCrc = reader.UInt32();
        if (reader.Offset != headerLength - 4) Fail(path, "header length", $"{reader.Offset + 4}", $"{headerLength}", "corrupt");

        // Which model wrote it: the most telling difference first.
        if (family != expected.Family) Fail(path, "model family", $"'{expected.Family}'", $"'{family}'", "written by another model");
        foreach (var (key, value) in expected.Dimensions)
        {
            string? found = dimensions.FirstOrDefault(d => d.Key == key).Value;
            if (found != value) Fail(path, $"dimension '{key}'", value, found ?? "(missing)", "written by another model");
        }
        if (dimensions.Count != expected.Dimensions.Count) Fail(path, "dimension count", $"{expected.Dimensions.Count}", $"{dimensions.Count}", "written by another model");
        if (dtype != DType.F32) Fail(path, "dtype", "F32", $"{dtype}");
        if (stateLength != expected.StateLength) Fail(path, "state length", $"{expected.StateLength} floats", $"{stateLength}");
        if (extraLength != expected.ExtraLength) Fail(path, "extra length", $"{expected.ExtraLength} floats", $"{extraLength}");
        if (!modelHash.AsSpan().SequenceEqual(expected.ModelHash))
            Fail(path, "model fingerprint", ModelFingerprint.ToHex(expected.ModelHash), ModelFingerprint.ToHex(modelHash), "written by another checkpoint of the same shape");
        if (position < 0) Fail(path, "position", ">= 0", $"{position}", "corrupt");

        long expectedPayloadBytes = (long)expected.PayloadLength * sizeof(float);
        if (payloadBytes != (ulong)expectedPayloadBytes) Fail(path, "payload length", $"{expectedPayloadBytes} bytes", $"{payloadBytes}", "corrupt");
        if (fileLength - headerLength != expectedPayloadBytes) Fail(path, "file length", $"{headerLength + expectedPayloadBytes} bytes", $"{fileLength}", "truncated or padded");

        var bytes = MemoryMarshal.AsBytes(payload);
        stream.ReadExactly(bytes);
        uint actualPayloadCrc = Crc32.Compute(bytes);
        if (actualPayloadCrc != payloadCrc) Fail(path, "payload checksum", $"0x{payloadCrc:x8}", $"0x{actualPayloadCrc:x8}", "corrupt");
        return new SnapshotState(position, pending);
    }

    private static byte[] BuildHeader(SnapshotIdentity identity, SnapshotState state, ReadOnlySpan<byte> payload)
    {
        var header = new List<byte>(256);
        Span<byte> scratch = stackalloc byte[8];
        header.AddRange(Magic);
        Put32(header, scratch, FormatVersion);
        Put32(header, scratch, 0);                   // header length, patched below
        header.AddRange(identity.ModelHash);
        header.Add((byte)DType.F32);
        header.AddRange([0, 0, 0]);
        BinaryPrimitives.WriteInt64LittleEndian(scratch, state.Position);
        header.AddRange(scratch[..8]);
        Put32(header, scratch, unchecked((uint)state.PendingToken));
        Put32(header, scratch, (uint)identity.StateLength);
        Put32(header, scratch, (uint)identity.ExtraLength);
        BinaryPrimitives.WriteUInt64LittleEndian(scratch, (ulong)payload.Length);
        header.AddRange(scratch[..8]);
        PutString(header, scratch, identity.Family);
        if (identity.Dimensions.Count > ushort.MaxValue) throw new ArgumentException("snapshot: too many dimensions", nameof(identity));
        BinaryPrimitives.WriteUInt16LittleEndian(scratch, (ushort)identity.Dimensions.Count);
        header.AddRange(scratch[..2]);
        foreach (var (key, value) in identity.Dimensions)
        {
            PutString(header, scratch, key);
            PutString(header, scratch, value);
        }
        Put32(header, scratch, Crc32.Compute(payload));
        Put32(header, scratch, 0);                   // header checksum, patched below

        byte[] bytes = [.. header];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), (uint)bytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4)));
        return bytes;
    }

    private static void Put32(List<byte> header, Span<byte> scratch, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(scratch, value);
        header.AddRange(scratch[..4]);
    }

    private static void PutString(List<byte> header, Span<byte> scratch, string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        if (utf8.Length > ushort.MaxValue) throw new ArgumentException($"snapshot: string of {utf8.Length} bytes is too long");
        BinaryPrimitives.WriteUInt16LittleEndian(scratch, (ushort)utf8.Length);
        header.AddRange(scratch[..2]);
        header.AddRange(utf8);
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (byte b in bytes) text.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        return $"\"{text}\"";
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(string path, string what, string expected, string actual, string? hint = null) =>
        throw new SessionSnapshotException($"snapshot: {what} in '{path}': expected {expected}, got {actual}{(hint is null ? "" : "; " + hint)}");

    /// <summary>Bounds-checked little-endian reads over the header bytes.</summary>
    private ref struct HeaderReader(ReadOnlySpan<byte> bytes, string path)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private readonly string _path = path;

        public int Offset { get; private set; }

        public void Skip(int count) => Bytes(count);

        public byte Byte() => Bytes(1)[0];

        public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2));

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4));

        public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Bytes(8));

        public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8));

        public string String()
        {
            int length = UInt16();
            try
            {
                return new UTF8Encoding(false, true).GetString(Bytes(length));
            }
            catch (DecoderFallbackException ex)
            {
                throw new SessionSnapshotException($"snapshot: string at byte {Offset - length} in '{_path}': expected UTF-8, got invalid bytes; corrupt", ex);
            }
        }

        public ReadOnlySpan<byte> Bytes(int count)
        {
            if (count < 0 || Offset + count > _bytes.Length - 4)
                Fail(_path, "header", $"a field of {count} bytes at byte {Offset}", $"a header of {_bytes.Length} bytes", "corrupt");
            var slice = _bytes.Slice(Offset, count);
            Offset += count;
            return slice;
        }
    }
}
