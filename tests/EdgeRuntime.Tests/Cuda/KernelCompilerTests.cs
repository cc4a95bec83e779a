using EdgeRuntime.Cuda.Runtime;

namespace EdgeRuntime.Tests.Cuda;

/// <summary>The embedded CUDA C kernels compile with NVRTC (no GPU needed) and the disk cache is keyed by arch and source.</summary>
[Collection("Cuda")]
public sealed class KernelCompilerTests
{
    [Fact]
    public void Source_HoldsEveryKernelFile_WithCommonHeaderFirst()
    {
        string source = KernelCompiler.Source;
        Assert.StartsWith("// ---- common.cuh", source);
        foreach (var name in new[] { "matvec.cu", "elementwise.cu", "based.cu", "lightning.cu", "aaren.cu" })
            Assert.Contains("// ---- " + name, source);
        Assert.Equal(16, KernelCompiler.SourceHash.Length);
    }

    [NvrtcTheory]
    [InlineData(9, 0)]   // H100 / H200
    [InlineData(8, 7)]   // Jetson Orin
    [InlineData(8, 0)]   // A100
    public void Kernels_Compile_ForComputeCapability(int major, int minor)
    {
        var (image, target, _) = KernelCompiler.Compile(KernelCompiler.Source, major, minor);
        Assert.True(image.Length > 1000, $"image of {image.Length} bytes for {target}");
    }

    [NvrtcFact]
    public void Get_ReadsTheCache_OnTheSecondCall()
    {
        using var dir = TestPaths.NewTempDir();
        string? old = Environment.GetEnvironmentVariable("EDGE_RUNTIME_CUDA_CACHE");
        Environment.SetEnvironmentVariable("EDGE_RUNTIME_CUDA_CACHE", dir.Path);
        try
        {
            var first = KernelCompiler.Get(9, 0);
            Assert.False(first.FromCache);
            Assert.NotNull(first.CachePath);
            Assert.Contains($"sm_90-{KernelCompiler.SourceHash}", first.CachePath);
            var second = KernelCompiler.Get(9, 0);
            Assert.True(second.FromCache);
            Assert.Equal(first.Image, second.Image);
        }
        finally
        {
            Environment.SetEnvironmentVariable("EDGE_RUNTIME_CUDA_CACHE", old);
        }
    }
}
