using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EdgeRuntime.Models.Formats.Gguf;

namespace EdgeRuntime.Tests.Formats;

public class GgufWriterTests
{
    [Fact]
    public void Header_MatchesBytesComputedFromSpec_ForOneKeyOneTensor()
    {
        var w = new GgufWriter();
        w.Add("general.architecture", "based");
        w.Add("a.b", 7u);
        w.AddTensor("t", GgmlType.F32, [2], MemoryMarshal.AsBytes<float>([1f, -2f]).ToArray());
        using var ms = new MemoryStream();
        w.WriteTo(ms);
        byte[] actual = ms.ToArray();

        // Built by hand from docs/gguf.md, little endian:
        var e = new List<byte>();
        e.AddRange("GGUF"u8.ToArray());                     // 0: magic 47 47 55 46
        U32(e, 3);                                           // 4: version
        U64(e, 1);                                           // 8: tensor_count
        U64(e, 2);                                           // 16: metadata_kv_count
        U64(e, 20); e.AddRange("general.architecture"u8.ToArray()); U32(e, 8); U64(e, 5); e.AddRange("based"u8.ToArray()); // 24..69
        U64(e, 3); e.AddRange("a.b"u8.ToArray()); U32(e, 4); U32(e, 7);      // 69..88: uint32 (type 4) = 7
        U64(e, 1); e.Add((byte)'t'); U32(e, 1); U64(e, 2); U32(e, 0); U64(e, 0); // 88..121: name, n_dims 1, ne[0] 2, F32, offset 0
        Assert.Equal(121, e.Count);
        e.AddRange(new byte[7]);                             // pad to 128 = align_offset(121) with ALIGNMENT 32
        e.AddRange(new byte[] { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0 }); // 1.0f, -2.0f
        e.AddRange(new byte[24]);                            // tensor padded to 32 bytes
        Assert.Equal(160, e.Count);
        Assert.Equal(e.ToArray(), actual);
    }

    [Fact]
    public void TensorOffsets_AreAlignedAndPadded_WhenSizesAreOdd()
    {
        var w = new GgufWriter();
        w.AddTensor("a", GgmlType.Q8_0, [32, 1], new byte[34]);
        w.AddTensor("b", GgmlType.Q4_0, [32, 3], new byte[54]);
        w.AddTensor("c", GgmlType.I8, [5], new byte[5]);
        var offsets = w.Tensors.Select(t => t.Offset).ToArray();
        Assert.Equal([0L, 64, 128], offsets);
        using var ms = new MemoryStream();
        w.WriteTo(ms);
        Assert.Equal(0, ms.Length % 32);
    }

    [Fact]
    public void AddTensor_Rejects_BadNamesDimensionsAndLengths()
    {
        var w = new GgufWriter();
        Assert.Throws<ArgumentException>(() => w.AddTensor("", GgmlType.F32, [1], new byte[4]));
        Assert.Throws<ArgumentException>(() => w.AddTensor(new string('x', 64), GgmlType.F32, [1], new byte[4]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("t", GgmlType.F32, [1, 1, 1, 1, 1], new byte[4]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("t", GgmlType.F32, [0], Array.Empty<byte>()));
        Assert.Throws<ArgumentException>(() => w.AddTensor("t", GgmlType.Q8_0, [16], new byte[17]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("t", GgmlType.F32, [2], new byte[4]));
        w.AddTensor("t", GgmlType.F32, [1], new byte[4]);
        Assert.Throws<ArgumentException>(() => w.AddTensor("t", GgmlType.F32, [1], new byte[4]));
    }

    [Fact]
    public void Add_Rejects_DuplicateNonAsciiAndConflictingAlignmentKeys()
    {
        var w = new GgufWriter();
        w.Add("x", 1u);
        Assert.Throws<ArgumentException>(() => w.Add("x", 2u));
        Assert.Throws<ArgumentException>(() => w.Add("", 2u));
        Assert.Throws<ArgumentException>(() => w.Add("é", 2u));
        Assert.Throws<ArgumentException>(() => w.Add("general.alignment", 64u));
        Assert.Throws<ArgumentException>(() => w.Add("general.alignment", 32));  // int32, not uint32
        w.Add("general.alignment", 32u);
    }

    [Fact]
    public void DataWriterCallback_IsChecked_WhenItWritesTheWrongLength()
    {
        var w = new GgufWriter();
        w.AddTensor("t", GgmlType.F32, [4], s => s.Write(new byte[12]));
        using var ms = new MemoryStream();
        var ex = Assert.Throws<InvalidOperationException>(() => w.WriteTo(ms));
        Assert.Contains("wrote 12 bytes, expected 16", ex.Message);
    }

    private static void U32(List<byte> b, uint v)
    {
        var s = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(s, v);
        b.AddRange(s);
    }

    private static void U64(List<byte> b, ulong v)
    {
        var s = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(s, v);
        b.AddRange(s);
    }
}
