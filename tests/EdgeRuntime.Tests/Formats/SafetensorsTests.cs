using System.Text;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Safetensors;

namespace EdgeRuntime.Tests.Formats;

/// <summary>The safetensors reader validates everything before use, and errors name the file, the tensor and the problem.</summary>
public sealed class SafetensorsTests
{
    private static byte[] RawFile(string headerJson, int dataBytes)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + dataBytes];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(bytes, 8);
        return bytes;
    }

    private static string WriteValid(TempDir dir)
    {
        var path = dir.File("model.safetensors");
        new SafetensorsWriter()
            .Add("a.weight", Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), 3, 4)
            .Add("b.bias", new float[] { 1, 2, 3 }, 3)
            .Metadata("format", "pt")
            .Save(path);
        return path;
    }

    private static ModelFormatException Rejects(string path)
    {
        var ex = Assert.Throws<ModelFormatException>(() => { using var f = new SafetensorsFile(path); });
        Assert.Contains(path, ex.Message);
        return ex;
    }

    [Fact]
    public void Writer_RoundTrips_ThroughTheReader()
    {
        using var dir = TestPaths.NewTempDir();
        var path = WriteValid(dir);
        using var f = new SafetensorsFile(path);
        Assert.Equal([3L, 4L], f.Get("a.weight").Shape);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), f.ReadF32("a.weight"));
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal(0, f.DataOffset % 8);
    }

    [Fact]
    public void StreamedTensors_AreWrittenByteForByte_LikeArrayTensors()
    {
        // Larger than one stream chunk, with an odd tail, between two array tensors.
        long n = SafetensorsWriter.StreamChunkFloats * 2L + 7;
        var expected = new float[n];
        for (long i = 0; i < n; i++) expected[i] = (float)Math.Sin(i * 0.001);
        using var dir = TestPaths.NewTempDir();
        string a = dir.File("a.safetensors"), b = dir.File("b.safetensors");
        new SafetensorsWriter().Add("x", new float[] { 1, 2 }, 2).Add("big", expected, n).Add("y", new[] { 7 }, 1).Save(a);
        var calls = new List<(long Start, int Length)>();
        new SafetensorsWriter().Add("x", new float[] { 1, 2 }, 2)
            .AddStreamed("big", [n], (start, dst) =>
            {
                calls.Add((start, dst.Length));
                expected.AsSpan((int)start, dst.Length).CopyTo(dst);
            })
            .Add("y", new[] { 7 }, 1).Save(b);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.Equal([(0L, SafetensorsWriter.StreamChunkFloats), (SafetensorsWriter.StreamChunkFloats, SafetensorsWriter.StreamChunkFloats),
            (2L * SafetensorsWriter.StreamChunkFloats, 7)], calls);
    }

    [Fact]
    public void Reader_ReadsTheSharedGoldens()
    {
        using var f = new SafetensorsFile(Path.Combine(TestPaths.Golden("based-tiny"), "model.safetensors"));
        Assert.Equal([504L, 128L], f.Get("transformer.embeddings.word_embeddings.weight").Shape);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(60)]
    public void Truncated_File_IsRejected(int keep)
    {
        using var dir = TestPaths.NewTempDir();
        var path = WriteValid(dir);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..Math.Min(keep, bytes.Length)]);
        Rejects(path);
    }

    [Fact]
    public void Truncated_Data_NamesTheTensor()
    {
        using var dir = TestPaths.NewTempDir();
        var path = WriteValid(dir);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        var ex = Rejects(path);
        Assert.Contains("b.bias", ex.Message);
        Assert.Contains("past the end", ex.Message);
    }

    [Theory]
    [InlineData("not json at all", "not valid JSON")]
    [InlineData("[1,2,3]", "not a JSON object")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,400]}}", "past the end")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "expected 12")]
    [InlineData("{\"t\":{\"dtype\":\"Q9\",\"shape\":[2],\"data_offsets\":[0,8]}}", "dtype 'Q9'")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "invalid dimension")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "invalid data_offsets")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", "data_offsets")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", "overflows")]
    public void Bad_Header_IsRejected_WithAClearMessage(string header, string expected)
    {
        using var dir = TestPaths.NewTempDir();
        var path = dir.File("bad.safetensors");
        File.WriteAllBytes(path, RawFile(header, 16));
        var ex = Rejects(path);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void HeaderLength_PastTheEnd_IsRejected()
    {
        using var dir = TestPaths.NewTempDir();
        var path = dir.File("bad.safetensors");
        var bytes = RawFile("{}", 0);
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), ulong.MaxValue / 2);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("header length", Rejects(path).Message);
    }

    [Fact]
    public void WeightSource_ShapeMismatch_NamesFileTensorAndBothShapes()
    {
        using var dir = TestPaths.NewTempDir();
        var path = WriteValid(dir);
        using var w = new SafetensorsWeightSource(dir.Path);
        var ex = Assert.Throws<ModelFormatException>(() => w.Matrix("a.weight", 4, 3, "hidden_size 3 from config"));
        Assert.Contains("'a.weight'", ex.Message);
        Assert.Contains("[3, 4]", ex.Message);
        Assert.Contains("[4, 3]", ex.Message);
        Assert.Contains("hidden_size 3 from config", ex.Message);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void WeightSource_MissingTensor_IsNamed()
    {
        using var dir = TestPaths.NewTempDir();
        WriteValid(dir);
        using var w = new SafetensorsWeightSource(dir.Path);
        var ex = Assert.Throws<ModelFormatException>(() => w.Vector("c.bias", 3));
        Assert.Contains("'c.bias' is missing", ex.Message);
    }

    [Fact]
    public void WeightSource_WrongDtype_IsRejected()
    {
        using var dir = TestPaths.NewTempDir();
        new SafetensorsWriter().Add("m.weight", new int[6], 2, 3).Save(dir.File("model.safetensors"));
        using var w = new SafetensorsWeightSource(dir.Path);
        var ex = Assert.Throws<ModelFormatException>(() => w.Matrix("m.weight", 2, 3));
        Assert.Contains("dtype I32", ex.Message);
        Assert.Contains("'m.weight'", ex.Message);
    }

    [Fact]
    public void WeightSource_UnexpectedBias_IsRejected()
    {
        using var dir = TestPaths.NewTempDir();
        WriteValid(dir);
        using var w = new SafetensorsWeightSource(dir.Path);
        var ex = Assert.Throws<ModelFormatException>(() => w.OptionalVector("b.bias", 3, expected: false));
        Assert.Contains("no bias", ex.Message);
    }

    [Fact]
    public void WeightSource_WidensF16AndBF16()
    {
        using var dir = TestPaths.NewTempDir();
        // Hand-written F16 (1.0 = 0x3C00, -2.0 = 0xC000) and BF16 (1.0 = 0x3F80, 0.5 = 0x3F00) values.
        var header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}";
        var bytes = RawFile(header, 8);
        int d = bytes.Length - 8;
        new byte[] { 0x00, 0x3C, 0x00, 0xC0, 0x80, 0x3F, 0x00, 0x3F }.CopyTo(bytes, d);
        File.WriteAllBytes(dir.File("model.safetensors"), bytes);
        using var w = new SafetensorsWeightSource(dir.Path);
        var m = w.Matrix("h", 1, 2);
        var row = new float[2];
        m.ReadRow(0, row);
        Assert.Equal([1f, -2f], row);
        Assert.Equal([1f, 0.5f], w.Vector("b", 2));
    }
}
