using EdgeRuntime.Cuda;
using EdgeRuntime.Cuda.Diagnostics;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Tests.Verification;

namespace EdgeRuntime.Tests.Cuda;

/// <summary>Device selection and the CPU path on machines without a GPU (CI): <c>auto</c> falls back with one log line,
/// <c>cuda</c> exits 2 with a clear message, <c>cpu</c> never touches CUDA.</summary>
[Collection("Cuda")]
public sealed class CudaFallbackTests
{
    [Theory]
    [InlineData("cpu", ComputeDevice.Cpu)]
    [InlineData("CUDA", ComputeDevice.Cuda)]
    [InlineData(" auto ", ComputeDevice.Auto)]
    public void TryParse_AcceptsTheThreeValues(string text, ComputeDevice expected)
    {
        Assert.True(DeviceSelection.TryParse(text, out var device));
        Assert.Equal(expected, device);
    }

    [Theory]
    [InlineData("")]
    [InlineData("gpu0")]
    [InlineData(null)]
    public void TryParse_Rejects_WhenNotADevice(string? text) => Assert.False(DeviceSelection.TryParse(text, out _));

    [NoCudaFact]
    public void VerifyDeviceAuto_PassesOnCpu_WithOneFallbackLine_WhenNoDriver()
    {
        var dir = TestPaths.Golden("based-tiny");
        var (code, stdout, stderr) = EdgeFwProcessTests.RunEdgeFw("verify", dir, "--golden", Path.Combine(dir, "golden.safetensors"), "--device", "auto", "--threads", "2");
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("PASS", stdout);
        var lines = stderr.Split('\n').Where(l => l.StartsWith("device:", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.Contains("running on the CPU", lines[0]);
    }

    [NoCudaFact]
    public void VerifyDeviceCuda_ExitsTwo_WithNoDriverMessage_WhenNoDriver()
    {
        var dir = TestPaths.Golden("aaren-tiny");
        var (code, stdout, stderr) = EdgeFwProcessTests.RunEdgeFw("verify", dir, "--golden", Path.Combine(dir, "golden.safetensors"), "--device", "cuda");
        Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("no CUDA", stderr);
    }

    [Fact]
    public void VerifyDevice_ExitsTwo_OnAnUnknownDevice()
    {
        var dir = TestPaths.Golden("aaren-tiny");
        var (code, _, stderr) = EdgeFwProcessTests.RunEdgeFw("verify", dir, "--golden", Path.Combine(dir, "golden.safetensors"), "--device", "tpu");
        Assert.Equal(2, code);
        Assert.Contains("tpu", stderr);
    }

    [NoCudaFact]
    public void LoadAuto_ReturnsTheCpuModel_WhenNoDriver()
    {
        var lines = new List<string>();
        using var model = DeviceSelection.Load(TestPaths.Golden("transnormer-tiny"), new ModelOptions { Threads = 1 }, ComputeDevice.Auto, lines.Add);
        Assert.IsType<EdgeRuntime.Models.Families.TransNormer.TransNormerModel>(model);
        Assert.Single(lines);
    }

    [Fact]
    public void SyntheticTinyBased_LoadsAndSteps_OnCpu()
    {
        using var dir = TestPaths.NewTempDir();
        SyntheticCheckpoint.WriteBased(dir.Path, BasedShape.Tiny, seed: 3);
        using var model = (ILanguageModel)ModelLoader.Load(dir.Path, new ModelOptions { Threads = 1 });
        Assert.Equal("based", model.Info.Family);
        var state = new float[model.StateLength];
        var logits = new float[model.LogitsLength];
        using var scratch = model.CreateScratch();
        model.InitState(state);
        model.Prefill([1, 2, 3, 4, 5], state, logits, scratch);
        Assert.All(logits, x => Assert.True(float.IsFinite(x)));
        Assert.True(logits.Max() - logits.Min() > 1e-3f, "random weights should give distinct logits");
    }

    [Fact]
    public void Based360MShape_MatchesThePublishedConfig()
    {
        var s = BasedShape.Based360M;
        Assert.Equal([1, 6, 11, 16, 21], s.LinearLayers);
        Assert.Equal([2, 7, 12, 17, 22], s.SlidingLayers);
        Assert.Equal(2048, s.MlpHidden);
        var config = EdgeRuntime.Models.Families.Based.BasedConfig.FromJson(SyntheticCheckpoint.BasedConfigJson(s), "synthetic");
        Assert.Equal(50280, config.PaddedVocabSize);
        Assert.Equal(27, config.LayerCount);
    }
}
