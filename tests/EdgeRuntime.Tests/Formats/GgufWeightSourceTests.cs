using System.Runtime.InteropServices;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;

namespace EdgeRuntime.Tests.Formats;

public unsafe class GgufWeightSourceTests
{
    private static (string Path, float[] Matrix, float[] Vector) WriteModel(GgufTestFiles files)
    {
        var rng = new Random(42);
        const int rows = 3, cols = 64;
        var matrix = Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var vector = Enumerable.Range(0, 5).Select(i => i * 0.25f).ToArray();
        var q8 = new byte[QuantTraits.Get(DType.Q8_0).RowBytes(matrix.Length)];
        Quantization.Quantize(DType.Q8_0, matrix, q8);
        var q4 = new byte[QuantTraits.Get(DType.Q4_0).RowBytes(matrix.Length)];
        Quantization.Quantize(DType.Q4_0, matrix, q4);
        var f16 = matrix.Select(x => (Half)x).ToArray();
        var w = new GgufWriter();
        w.Add("general.architecture", "based");
        // A PyTorch [rows, cols] matrix is stored with ne = [cols, rows].
        w.AddTensor("m.f32", GgmlType.F32, [cols, rows], MemoryMarshal.AsBytes<float>(matrix).ToArray());
        w.AddTensor("m.f16", GgmlType.F16, [cols, rows], MemoryMarshal.AsBytes<Half>(f16).ToArray());
        w.AddTensor("m.q8", GgmlType.Q8_0, [cols, rows], q8);
        w.AddTensor("m.q4", GgmlType.Q4_0, [cols, rows], q4);
        w.AddTensor("v", GgmlType.F32, [5], MemoryMarshal.AsBytes<float>(vector).ToArray());
        w.AddTensor("conv", GgmlType.F32, [1, 1, 5], MemoryMarshal.AsBytes<float>(vector).ToArray());
        w.AddTensor("k4", GgmlType.Q4_K, [256, 1], new byte[144]);
        string path = files.PathOf("model.gguf");
        w.Save(path);
        return (path, matrix, vector);
    }

    [Fact]
    public void Matrix_IsUsedInPlace_ForF32Q8AndQ4_AndWidened_ForF16()
    {
        using var files = new GgufTestFiles();
        var (path, matrix, _) = WriteModel(files);
        using var source = new GgufWeightSource(path);
        var f32 = source.Matrix("m.f32", 3, 64);
        Assert.Equal(DType.F32, f32.Type);
        Assert.True(f32.Data == source.File.Address(source.File.GetTensor("m.f32")), "f32 matrix should point into the mapping");
        var q8 = source.Matrix("m.q8", 3, 64);
        Assert.Equal(DType.Q8_0, q8.Type);
        Assert.True(q8.Data == source.File.Address(source.File.GetTensor("m.q8")));
        Assert.Equal(DType.Q4_0, source.Matrix("m.q4", 3, 64).Type);
        var f16 = source.Matrix("m.f16", 3, 64);
        Assert.Equal(DType.F32, f16.Type);
        var row = new float[64];
        f16.ReadRow(2, row);
        for (int c = 0; c < 64; c++) Assert.Equal((float)(Half)matrix[128 + c], row[c]);
        f32.ReadRow(1, row);
        Assert.Equal(matrix.AsSpan(64, 64).ToArray(), row);
    }

    [Fact]
    public void QuantizedEmbeddingRow_DequantizesThroughRegistry_AndMatchesFloats()
    {
        using var files = new GgufTestFiles();
        var (path, matrix, _) = WriteModel(files);
        using var source = new GgufWeightSource(path);
        foreach (string name in new[] { "m.q8", "m.q4" })
        {
            var all = source.Floats(name, [3, 64]);
            var m = source.Matrix(name, 3, 64);
            var row = new float[64];
            for (int r = 0; r < 3; r++)
            {
                m.ReadRow(r, row);
                Assert.Equal(all.AsSpan(r * 64, 64).ToArray(), row);
            }
            // Quantization error bound from the block tests: q8_0 amax/254+, q4_0 amax/8+.
            double bound = name == "m.q8" ? 1.0 / 254 + 1.0 / 2048 : 1.0 / 8 + 1.0 / 2048;
            for (int i = 0; i < all.Length; i++) Assert.True(Math.Abs(all[i] - matrix[i]) <= bound, $"{name}[{i}]: {matrix[i]} vs {all[i]}");
        }
    }

    [Fact]
    public void ShapeChecks_UsePyTorchOrder_AndNameFileTensorAndBothShapes()
    {
        using var files = new GgufTestFiles();
        var (path, _, vector) = WriteModel(files);
        using var source = new GgufWeightSource(path);
        Assert.Equal([3L, 64], source.ShapeOf("m.f32")!);
        Assert.Equal([5L, 1, 1], source.ShapeOf("conv")!);
        Assert.Equal(vector, source.Vector("v", 5));
        Assert.Equal(vector, source.Floats("conv", [5, 1, 1]));
        var ex = Assert.Throws<ModelFormatException>(() => source.Matrix("m.f32", 64, 3, "hidden_size 64 from config"));
        Assert.Contains("tensor 'm.f32' has shape [3, 64], expected [64, 3] (hidden_size 64 from config)", ex.Message);
        Assert.Contains(path, ex.Message);
        ex = Assert.Throws<ModelFormatException>(() => source.Matrix("absent", 1, 1));
        Assert.Contains("tensor 'absent' is missing", ex.Message);
        ex = Assert.Throws<ModelFormatException>(() => source.Matrix("k4", 1, 256));
        Assert.Contains("has type Q4_K, expected F32, F16, BF16, Q8_0 or Q4_0", ex.Message);
        Assert.Throws<ModelFormatException>(() => source.OptionalVector("v", 5, expected: false));
    }

    [Fact]
    public void ModelLoader_RejectsGguf_WithUnknownOrMissingArchitecture()
    {
        using var files = new GgufTestFiles();
        string llama = files.PathOf("llama.gguf");
        new GgufWriter().Add("general.architecture", "llama").Save(llama);
        var ex = Assert.Throws<ModelConfigException>(() => ModelLoader.Load(llama));
        Assert.Contains("'general.architecture' is 'llama', expected 'based', 'transnormer' or 'aaren'", ex.Message);
        string none = files.PathOf("none.gguf");
        new GgufWriter().Add("general.name", "x").Save(none);
        ex = Assert.Throws<ModelConfigException>(() => ModelLoader.Load(none));
        Assert.Contains("metadata key 'general.architecture' is missing", ex.Message);
    }
}
