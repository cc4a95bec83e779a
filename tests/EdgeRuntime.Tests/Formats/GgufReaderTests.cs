using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;

namespace EdgeRuntime.Tests.Formats;

public class GgufReaderTests
{
    [Fact]
    public void RoundTrip_PreservesMetadataOfEveryType()
    {
        using var files = new GgufTestFiles();
        var w = new GgufWriter();
        w.Add("u8", GgufValue.UInt8(200)).Add("i8", GgufValue.Int8(-100)).Add("u16", GgufValue.UInt16(60000))
         .Add("i16", GgufValue.Int16(-30000)).Add("u32", GgufValue.UInt32(4_000_000_000)).Add("i32", GgufValue.Int32(-2_000_000_000))
         .Add("f32", GgufValue.Float32(1e-5f)).Add("bool", GgufValue.Bool(true)).Add("str", GgufValue.String("héllo ✓"))
         .Add("u64", GgufValue.UInt64(ulong.MaxValue)).Add("i64", GgufValue.Int64(long.MinValue)).Add("f64", GgufValue.Float64(Math.PI))
         .Add("a.u8", GgufValue.Array(new byte[] { 1, 2, 255 })).Add("a.i8", GgufValue.Array(new sbyte[] { -1, 2 }))
         .Add("a.u16", GgufValue.Array(new ushort[] { 1, 65535 })).Add("a.i16", GgufValue.Array(new short[] { -5 }))
         .Add("a.u32", GgufValue.Array(new uint[] { 1, 0, 0, 0 })).Add("a.i32", GgufValue.Array(new[] { -1, int.MaxValue }))
         .Add("a.f32", GgufValue.Array(new[] { 0.5f, -2f })).Add("a.bool", GgufValue.Array(new[] { true, false, true }))
         .Add("a.str", GgufValue.Array(new[] { "a", "", "Ġthe" })).Add("a.u64", GgufValue.Array(new ulong[] { 7 }))
         .Add("a.i64", GgufValue.Array(new long[] { -7 })).Add("a.f64", GgufValue.Array(new[] { 0.1 }))
         .Add("a.empty", GgufValue.Array(Array.Empty<uint>()))
         .Add("a.nested", GgufValue.Array(new[] { GgufValue.Array(new uint[] { 1, 2 }), GgufValue.Array(new[] { "x" }) }));
        string path = files.PathOf("meta.gguf");
        w.Save(path);
        using var r = new GgufReader(path);
        Assert.Equal(3u, r.Version);
        Assert.Equal(w.Metadata.Select(kv => kv.Key), r.Metadata.Keys);
        var m = r.Metadata;
        Assert.Equal((byte)200, m.Get("u8").Value);
        Assert.Equal((sbyte)-100, m.Get("i8").Value);
        Assert.Equal((ushort)60000, m.Get("u16").Value);
        Assert.Equal((short)-30000, m.Get("i16").Value);
        Assert.Equal(4_000_000_000u, m.GetUInt32("u32"));
        Assert.Equal(-2_000_000_000, m.GetInt32("i32"));
        Assert.Equal(1e-5f, m.GetFloat32("f32"));
        Assert.True(m.GetBool("bool"));
        Assert.Equal("héllo ✓", m.GetString("str"));
        Assert.Equal(ulong.MaxValue, m.GetUInt64("u64"));
        Assert.Equal(long.MinValue, m.GetInt64("i64"));
        Assert.Equal(Math.PI, m.GetFloat64("f64"));
        Assert.Equal(new byte[] { 1, 2, 255 }, (byte[])m.Get("a.u8").Value);
        Assert.Equal(new sbyte[] { -1, 2 }, (sbyte[])m.Get("a.i8").Value);
        Assert.Equal(new ushort[] { 1, 65535 }, (ushort[])m.Get("a.u16").Value);
        Assert.Equal(new short[] { -5 }, (short[])m.Get("a.i16").Value);
        Assert.Equal(new uint[] { 1, 0, 0, 0 }, m.GetUInt32Array("a.u32"));
        Assert.Equal(new[] { -1, int.MaxValue }, m.GetInt32Array("a.i32"));
        Assert.Equal(new[] { 0.5f, -2f }, m.GetFloat32Array("a.f32"));
        Assert.Equal(new[] { true, false, true }, m.GetBoolArray("a.bool"));
        Assert.Equal(new[] { "a", "", "Ġthe" }, m.GetStringArray("a.str"));
        Assert.Equal(new ulong[] { 7 }, (ulong[])m.Get("a.u64").Value);
        Assert.Equal(new long[] { -7 }, (long[])m.Get("a.i64").Value);
        Assert.Equal(new[] { 0.1 }, (double[])m.Get("a.f64").Value);
        Assert.Empty(m.GetUInt32Array("a.empty"));
        var nested = (GgufValue[])m.Get("a.nested").Value;
        Assert.Equal(new uint[] { 1, 2 }, (uint[])nested[0].Value);
        Assert.Equal(new[] { "x" }, (string[])nested[1].Value);
        Assert.Equal(GgufValueType.Array, m.Get("a.nested").ElementType);
        Assert.Equal(-100, m.GetInteger("i8"));
        Assert.Equal(4_000_000_000L, m.GetInteger("u32"));
    }

    [Fact]
    public void Getters_GiveDistinctErrors_ForMissingAndWrongTypedKeys()
    {
        using var files = new GgufTestFiles();
        string path = files.PathOf("m.gguf");
        new GgufWriter().Add("k", 5u).Add("s", "x").Save(path);
        using var r = new GgufReader(path);
        var missing = Assert.Throws<ModelConfigException>(() => r.Metadata.GetUInt32("nope"));
        Assert.Contains("metadata key 'nope' is missing", missing.Message);
        Assert.Contains(path, missing.Message);
        var wrong = Assert.Throws<ModelConfigException>(() => r.Metadata.GetInt32("k"));
        Assert.Contains("metadata key 'k': expected int32, got uint32", wrong.Message);
        var wrongArray = Assert.Throws<ModelConfigException>(() => r.Metadata.GetStringArray("s"));
        Assert.Contains("expected array[string], got string", wrongArray.Message);
        Assert.Throws<ModelConfigException>(() => r.Metadata.GetInteger("s"));
    }

    [Fact]
    public void RoundTrip_PreservesTensorsOfEveryType()
    {
        using var files = new GgufTestFiles();
        var rng = new Random(42);
        var f32 = Enumerable.Range(0, 6).Select(i => (float)rng.NextDouble()).ToArray();
        var q8Source = Enumerable.Range(0, 64 * 3).Select(i => (float)(rng.NextDouble() - 0.5)).ToArray();
        var q8 = new byte[QuantTraits.Get(Core.Tensors.DType.Q8_0).RowBytes(q8Source.Length)];
        Quantization.Quantize(Core.Tensors.DType.Q8_0, q8Source, q8);
        var q4 = new byte[QuantTraits.Get(Core.Tensors.DType.Q4_0).RowBytes(q8Source.Length)];
        Quantization.Quantize(Core.Tensors.DType.Q4_0, q8Source, q4);
        var tensors = new (string Name, GgmlType Type, long[] Dims, byte[] Data)[]
        {
            ("f32", GgmlType.F32, [3, 2], MemoryMarshal.AsBytes<float>(f32).ToArray()),
            ("f16", GgmlType.F16, [3], MemoryMarshal.AsBytes<Half>([(Half)1, (Half)(-0.5f), (Half)3]).ToArray()),
            ("bf16", GgmlType.BF16, [2, 1, 1], [0x80, 0x3F, 0x00, 0xC0]),
            ("q8_0", GgmlType.Q8_0, [64, 3], q8),
            ("q4_0", GgmlType.Q4_0, [64, 3], q4),
            ("i32", GgmlType.I32, [2], MemoryMarshal.AsBytes<int>([-1, 7]).ToArray()),
            ("q4_k", GgmlType.Q4_K, [256, 1, 1, 1], Enumerable.Range(0, 144).Select(i => (byte)i).ToArray()),
        };
        var w = new GgufWriter();
        foreach (var t in tensors) w.AddTensor(t.Name, t.Type, t.Dims, t.Data);
        string path = files.PathOf("t.gguf");
        w.Save(path);
        using var r = new GgufReader(path);
        Assert.Equal(tensors.Length, r.Tensors.Count);
        Assert.Equal(0, r.DataOffset % 32);
        foreach (var t in tensors)
        {
            var info = r.GetTensor(t.Name);
            Assert.Equal(t.Type, info.Type);
            Assert.Equal(t.Dims, info.Dimensions);
            Assert.Equal(t.Dims.Reverse().ToArray(), info.Shape);
            Assert.Equal(t.Data.Length, info.ByteLength);
            Assert.Equal(0, (info.Offset - r.DataOffset) % 32);
            Assert.Equal(t.Data, r.TensorBytes(info).ToArray());
        }
        Assert.Equal([2L, 3], r.GetTensor("f32").Shape);
    }

    [Fact]
    public void Reader_AcceptsVersion2_WithTheSameLayout()
    {
        using var files = new GgufTestFiles();
        var bytes = ValidFile();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 2);
        using var r = new GgufReader(files.Write("v2.gguf", bytes));
        Assert.Equal(2u, r.Version);
        Assert.Equal("based", r.Metadata.GetString("general.architecture"));
    }

    /// <summary>A small valid file: kv "general.architecture" = "based" (key length at 24, type at 52, value length at 56),
    /// kv "arr" = array[uint32] {1, 2} (key length at 69, type at 80, element type at 84, count at 88, elements at 96),
    /// tensor "w" Q8_0 ne = [32, 2] (name length at 104, n_dims at 113, ne at 117/125, type at 133, offset at 137),
    /// padding 145..160, data 160..228, padding to 256.</summary>
    internal static byte[] ValidFile()
    {
        var w = new GgufWriter();
        w.Add("general.architecture", "based");
        w.Add("arr", GgufValue.Array(new uint[] { 1, 2 }));
        w.AddTensor("w", GgmlType.Q8_0, [32, 2], new byte[68]);
        using var ms = new MemoryStream();
        w.WriteTo(ms);
        return ms.ToArray();
    }

    public static TheoryData<string, int, ulong, int, string> Corruptions => new()
    {
        // name, offset, value, width (4 or 8), expected message fragment
        { "wrong magic", 0, 0x46554746, 4, "expected 47475546 ('GGUF')" },
        { "version 4", 4, 4, 4, "file is version 4 but this build reads up to version 3" },
        { "version 1", 4, 1, 4, "version 1" },
        { "big-endian", 4, 0x03000000, 4, "big-endian" },
        { "tensor count past the end", 8, 1_000_000, 8, "tensor count 1000000 needs at least" },
        { "kv count past the end", 16, 1UL << 40, 8, "metadata count 1099511627776 needs at least" },
        { "string length 2^62", 24, 1UL << 62, 8, "string length 4611686018427387904" },
        { "value string length past the end", 56, 1000, 8, "string length 1000" },
        { "unknown value type id", 52, 13, 4, "unknown value type 13" },
        { "unknown array element type", 84, 77, 4, "array of unknown value type 77" },
        { "array count past the end", 88, 1UL << 61, 8, "claims 2305843009213693952 elements" },
        { "tensor name length past the end", 104, 5000, 8, "string length 5000" },
        { "five dimensions", 113, 5, 4, "has 5 dimensions, expected 1 to 4" },
        { "zero dimension", 117, 0, 8, "dimension 0 is 0" },
        { "row not a whole block", 117, 33, 8, "not a multiple of the Q8_0 block size 32" },
        { "dimension overflow", 125, 1UL << 62, 8, "overflows" },
        { "unknown ggml type id", 133, 99, 4, "unknown ggml type id 99" },
        { "removed ggml type id", 133, 4, 4, "unknown ggml type id 4" },
        { "misaligned offset", 137, 4, 8, "offset 4, not a multiple of the alignment 32" },
        { "tensor data outside the file", 137, 1024, 8, "runs past its end" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Reader_RejectsCorruptFile_WithClearErrorAndNoHugeAllocation(string name, int offset, ulong value, int width, string fragment)
    {
        using var files = new GgufTestFiles();
        var bytes = ValidFile();
        if (width == 4) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), (uint)value);
        else BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offset), value);
        string path = files.Write("bad.gguf", bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<ModelFormatException>(() => new GgufReader(path).Dispose());
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(fragment, ex.Message);
        Assert.Contains(path, ex.Message);
        Assert.StartsWith("gguf: ", ex.Message);
        Assert.True(allocated < 1 << 20, $"{name}: {allocated} bytes allocated while rejecting the file");
    }

    [Fact]
    public void Offsets_InValidFile_AreWhereTheCorruptionTableSays()
    {
        var b = ValidFile();
        Assert.Equal(20UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(24)));
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(52)));
        Assert.Equal(5UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(56)));
        Assert.Equal(3UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(69)));
        Assert.Equal(9u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(80)));
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(84)));
        Assert.Equal(2UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(88)));
        Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(104)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(113)));
        Assert.Equal(32UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(117)));
        Assert.Equal(2UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(125)));
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(133)));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(137)));
        Assert.Equal(256, b.Length);
    }

    [Fact]
    public void Reader_RejectsTruncatedFile_AtEveryCutPoint()
    {
        using var files = new GgufTestFiles();
        var bytes = ValidFile();
        // Cut inside magic, version, counts, a key, a value, the array, the tensor info, the padding and the data.
        int[] cuts = [0, 2, 6, 12, 20, 30, 54, 60, 70, 90, 100, 110, 120, 140, 150, 161, 200, 227];
        foreach (int cut in cuts)
        {
            string path = files.Write($"cut{cut}.gguf", bytes[..cut]);
            var ex = Assert.Throws<ModelFormatException>(() => new GgufReader(path).Dispose());
            Assert.Contains(path, ex.Message);
        }
        // Cutting only the trailing padding of the last tensor leaves a valid file (the data itself is intact).
        using var r = new GgufReader(files.Write("cut228.gguf", bytes[..228]));
        Assert.Single(r.Tensors);
    }

    [Fact]
    public void Reader_Rejects_BoolBytesOtherThanZeroOrOne()
    {
        using var files = new GgufTestFiles();
        var w = new GgufWriter().Add("flag", true);
        using var ms = new MemoryStream();
        w.WriteTo(ms);
        var bytes = ms.ToArray();
        bytes[24 + 8 + 4 + 4] = 2;  // key length, "flag", type, value
        var ex = Assert.Throws<ModelFormatException>(() => new GgufReader(files.Write("b.gguf", bytes)).Dispose());
        Assert.Contains("bool byte 2", ex.Message);
    }

    [Fact]
    public void Reader_Rejects_OverlappingTensorsAndBadAlignmentKey()
    {
        using var files = new GgufTestFiles();
        var w = new GgufWriter();
        w.AddTensor("a", GgmlType.F32, [16], new byte[64]);
        w.AddTensor("b", GgmlType.F32, [16], new byte[64]);
        using var ms = new MemoryStream();
        w.WriteTo(ms);
        var bytes = ms.ToArray();
        // Second tensor info: header 24 + ("a": 8+1+4+8+4+8 = 33) -> "b" info at 57, its offset field at 57+8+1+4+8+4 = 82.
        Assert.Equal(64UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(82)));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(82), 32);
        var ex = Assert.Throws<ModelFormatException>(() => new GgufReader(files.Write("o.gguf", bytes)).Dispose());
        Assert.Contains("overlap", ex.Message);

        // The writer refuses a non-uint32 alignment, so write another key of the same length and rename it in place.
        var bad = new GgufWriter().Add("general.alignmenX", GgufValue.UInt64(32));
        using var ms2 = new MemoryStream();
        bad.WriteTo(ms2);
        var badBytes = ms2.ToArray();
        badBytes[24 + 8 + 16] = (byte)'t';
        ex = Assert.Throws<ModelFormatException>(() => new GgufReader(files.Write("al.gguf", badBytes)).Dispose());
        Assert.Contains("'general.alignment': expected uint32, got uint64", ex.Message);
    }

    [Fact]
    public void Reader_HonoursNonDefaultAlignment()
    {
        using var files = new GgufTestFiles();
        var w = new GgufWriter(alignment: 64);
        w.Add("general.alignment", 64u);
        w.AddTensor("a", GgmlType.F32, [3], new byte[12]);
        w.AddTensor("b", GgmlType.F32, [3], new byte[12]);
        string path = files.PathOf("a64.gguf");
        w.Save(path);
        using var r = new GgufReader(path);
        Assert.Equal(64u, r.Alignment);
        Assert.Equal(0, r.DataOffset % 64);
        Assert.Equal(64, r.GetTensor("b").Offset - r.GetTensor("a").Offset);
    }
}
