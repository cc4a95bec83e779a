using System.Runtime.InteropServices;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Models.Formats.Gguf;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Tools.Commands;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Formats;

public unsafe class GgufConverterTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("based-tiny", "based")]
    [InlineData("transnormer-tiny", "transnormer")]
    [InlineData("aaren-tiny", "aaren")]
    public void F32Conversion_KeepsEveryGoldenTensorBitExact(string dir, string arch)
    {
        using var files = new GgufTestFiles();
        string source = Path.Combine(GgufTestFiles.GoldenDirectory, dir);
        string path = files.PathOf(dir + ".gguf");
        var progress = new List<GgufConvertProgress>();
        GgufConverter.Convert(source, path, GgufFileType.AllF32, new SyncProgress(progress.Add));

        using var original = new SafetensorsFile(Path.Combine(source, "model.safetensors"));
        using var gguf = new GgufWeightSource(path);
        var m = gguf.File.Metadata;
        Assert.Equal(arch, m.GetString("general.architecture"));
        Assert.Equal(dir, m.GetString("general.name"));
        Assert.Equal(0u, m.GetUInt32("general.file_type"));
        Assert.Equal(2u, m.GetUInt32("general.quantization_version"));
        Assert.Equal(32u, m.GetUInt32("general.alignment"));
        Assert.Equal(original.Tensors.Keys, gguf.File.Tensors.Select(t => t.Name));
        Assert.Equal(original.Tensors.Count, progress.Count);
        Assert.Equal(progress[^1].BytesTotal, progress[^1].BytesDone);
        foreach (var t in original.Tensors.Values)
        {
            Assert.Equal(t.Shape, gguf.ShapeOf(t.Name)!);
            Assert.Equal(GgmlType.F32, gguf.File.GetTensor(t.Name).Type);
            var expected = original.ReadF32(t.Name);
            var actual = gguf.Floats(t.Name, t.Shape);
            Assert.True(MemoryMarshal.AsBytes<float>(expected).SequenceEqual(MemoryMarshal.AsBytes<float>(actual)), $"tensor '{t.Name}' differs");
        }
        output.WriteLine($"{dir}: {original.Tensors.Count} tensors bit-exact, {new FileInfo(path).Length} bytes");
    }

    [Theory]
    [InlineData(GgufFileType.MostlyQ8_0, GgmlType.Q8_0)]
    [InlineData(GgufFileType.MostlyQ4_0, GgmlType.Q4_0)]
    [InlineData(GgufFileType.MostlyF16, GgmlType.F16)]
    public void QuantizedConversion_ChangesOnlyEligibleMatrices(GgufFileType fileType, GgmlType matrixType)
    {
        using var files = new GgufTestFiles();
        foreach (string dir in new[] { "based-tiny", "transnormer-tiny", "aaren-tiny" })
        {
            string source = Path.Combine(GgufTestFiles.GoldenDirectory, dir);
            string path = files.PathOf($"{dir}-{fileType}.gguf");
            GgufConverter.Convert(source, path, fileType);
            using var original = new SafetensorsFile(Path.Combine(source, "model.safetensors"));
            using var gguf = new GgufReader(path);
            Assert.Equal((uint)fileType, gguf.Metadata.GetUInt32("general.file_type"));
            foreach (var t in original.Tensors.Values)
            {
                var info = gguf.GetTensor(t.Name);
                bool matrix = t.Shape.Length == 2 && t.Name.EndsWith(".weight", StringComparison.Ordinal)
                    && !t.Name.Contains("norm", StringComparison.Ordinal) && !t.Name.Contains("conv", StringComparison.Ordinal)
                    && (matrixType == GgmlType.F16 || t.Shape[1] % 32 == 0);
                Assert.True((matrix ? matrixType : GgmlType.F32) == info.Type, $"{dir} '{t.Name}' {t.ShapeText}: got {info.Type}");
                var floats = original.ReadF32(t.Name);
                byte[] expected;
                if (info.Type == GgmlType.F32) expected = MemoryMarshal.AsBytes<float>(floats).ToArray();
                else
                {
                    // Row by row with the library's quantizer (itself checked against hand-computed ggml blocks).
                    var dtype = GgmlTypeInfo.ToDType(info.Type)!.Value;
                    int cols = (int)t.Shape[1];
                    long rowBytes = QuantTraits.Get(dtype).RowBytes(cols);
                    expected = new byte[rowBytes * t.Shape[0]];
                    for (int r = 0; r < t.Shape[0]; r++)
                        Quantization.Quantize(dtype, floats.AsSpan(r * cols, cols), expected.AsSpan((int)(r * rowBytes), (int)rowBytes));
                }
                Assert.True(expected.AsSpan().SequenceEqual(gguf.TensorBytes(info)), $"{dir} '{t.Name}' bytes differ");
            }
        }
    }

    [Fact]
    public void Conversion_WritesConfigAndTokenizer_ForSyntheticCheckpoint()
    {
        using var files = new GgufTestFiles();
        string dir = Path.Combine(files.Directory, "ckpt");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "transnormer", "decoder_embed_dim": 32, "bos_token_id": 1, "eos_token_id": 2, "linear_use_lrpe_list": [1, 0]}""");
        File.WriteAllText(Path.Combine(dir, "vocab.json"), """{"a": 0, "b": 1, "ab": 2}""");
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\na b\n");
        var rng = new Random(1);
        var w = Enumerable.Range(0, 3 * 32).Select(_ => (float)rng.NextDouble()).ToArray();
        new SafetensorsWriter().Add("model.embed_tokens.weight", w, 3, 32).Add("ids", [5, 6], 2).Save(Path.Combine(dir, "model.safetensors"));
        string path = files.PathOf("s.gguf");
        GgufConverter.Convert(dir, path, GgufFileType.MostlyQ8_0);
        using var r = new GgufReader(path);
        Assert.Equal("transnormer", r.Metadata.GetString("general.architecture"));
        Assert.Equal(32u, r.Metadata.GetUInt32("transnormer.decoder_embed_dim"));
        Assert.Equal(new uint[] { 1, 0 }, r.Metadata.GetUInt32Array("transnormer.linear_use_lrpe_list"));
        Assert.Equal("gpt2", r.Metadata.GetString("tokenizer.ggml.model"));
        Assert.Equal(new[] { "a", "b", "ab" }, r.Metadata.GetStringArray("tokenizer.ggml.tokens"));
        Assert.Equal(new[] { "a b" }, r.Metadata.GetStringArray("tokenizer.ggml.merges"));
        Assert.Equal(1u, r.Metadata.GetUInt32("tokenizer.ggml.bos_token_id"));
        Assert.Equal(2u, r.Metadata.GetUInt32("tokenizer.ggml.eos_token_id"));
        Assert.Equal(GgmlType.Q8_0, r.GetTensor("model.embed_tokens.weight").Type);
        Assert.Equal(GgmlType.I32, r.GetTensor("ids").Type);
        Assert.Equal(new[] { 5, 6 }, MemoryMarshal.Cast<byte, int>(r.TensorBytes(r.GetTensor("ids"))).ToArray());
    }

    [Fact]
    public void ChooseType_KeepsNormsBiasesConvsThetaAndQueriesInF32()
    {
        var q = GgufFileType.MostlyQ4_0;
        var f32 = SafetensorsDType.F32;
        Assert.Equal(GgmlType.Q4_0, GgufConverter.ChooseType("transformer.embeddings.word_embeddings.weight", [504, 128], f32, q));
        Assert.Equal(GgmlType.F32, GgufConverter.ChooseType("layers.0.norm1.weight", [64], f32, q));
        Assert.Equal(GgmlType.F32, GgufConverter.ChooseType("layers.0.mlp.fc1.bias", [128], f32, q));
        Assert.Equal(GgmlType.F32, GgufConverter.ChooseType("transformer.layers.0.mixer.conv.conv.weight", [256, 1, 3], f32, q));
        Assert.Equal(GgmlType.F32, GgufConverter.ChooseType("model.layers.0.token_mixer.lrpe.theta", [4, 32], f32, q));
        Assert.Equal(GgmlType.F32, GgufConverter.ChooseType("layers.0.attn.query", [4, 32], f32, q));
        Assert.Equal(GgmlType.F32, GgufConverter.ChooseType("input_proj.weight", [64, 3], f32, q));
        Assert.Equal(GgmlType.F16, GgufConverter.ChooseType("input_proj.weight", [64, 3], f32, GgufFileType.MostlyF16));
        Assert.Equal(GgmlType.I32, GgufConverter.ChooseType("x", [2], SafetensorsDType.I32, q));
    }

    [Fact]
    public void ConvertCommand_WritesFile_AndUsesExitCodes()
    {
        using var files = new GgufTestFiles();
        string source = Path.Combine(GgufTestFiles.GoldenDirectory, "aaren-tiny");
        string path = files.PathOf("aaren.gguf");
        Assert.Equal(0, EdgeFwCli.Run(["convert", source, "-o", path, "--type", "q8_0", "--json"]));
        using (var r = new GgufReader(path)) Assert.Equal(7u, r.Metadata.GetUInt32("general.file_type"));
        Assert.Equal(2, EdgeFwCli.Run(["convert", files.PathOf("nope"), "-o", path]));
        Assert.NotEqual(0, EdgeFwCli.Run(["convert", source, "-o", path, "--type", "q5_k"]));
        Assert.NotEqual(0, EdgeFwCli.Run(["convert", source]));
    }

    private sealed class SyncProgress(Action<GgufConvertProgress> report) : IProgress<GgufConvertProgress>
    {
        public void Report(GgufConvertProgress value) => report(value);
    }
}
