using EdgeRuntime.Core.Diagnostics;
using EdgeRuntime.Tests.Delivery;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Kernels;

/// <summary>The arm64 kernel paths (ARM dot product, plain NEON, scalar) checked on an emulated arm64 CPU: the kernel
/// self-test is published self-contained for linux-arm64 and run under <c>qemu-aarch64-static</c>, once as the CPU comes
/// (dot product on), once with <c>DOTNET_EnableArm64Dp=0</c> (plain NEON) and once with <c>DOTNET_EnableHWIntrinsic=0</c>
/// (scalar). Needs qemu-user-static and the arm64 C library (libc6-arm64-cross); .ci/run installs them. A missing tool
/// fails the test: nothing is skipped silently.</summary>
public sealed class Arm64QemuTests(ITestOutputHelper output)
{
    [Fact]
    public void KernelSelfTest_PassesOnX64_WithEveryPathItCanRun()
    {
        var report = KernelSelfTest.Run();
        output.WriteLine(report.ToText());
        Assert.All(report.Checks, c => Assert.True(c.Pass, $"{c.Kernel} [{c.Path}]: maxErr {c.MaxError:E2} > tol {c.Tolerance:E2}"));
        Assert.Contains(report.Checks, c => c.Kernel == "matvec q8_0");
        Assert.Contains(report.Checks, c => c.Kernel == "matvec q4_0");
    }

    [Fact]
    public void KernelSelfTest_PassesUnderQemuArm64_OnDotProductNeonAndScalarPaths()
    {
        Artifacts.RequireQemu();  // before the publish: a missing tool fails at once
        string exe = Publish();

        // 1. The CPU as qemu emulates it ("max": ARMv8.2+ with dot product). Full-opt JIT so the code that runs is the
        //    steady-state code, not tier 0.
        string dp = RunUnderQemu(exe, ("DOTNET_TieredCompilation", "0"));
        Assert.Contains("arch: Arm64", dp);
        Assert.Contains("Dp=True", dp);
        Assert.Contains("dispatch matvec q8_0: Dp", dp);
        Assert.Contains("dispatch matvec q4_0: Dp", dp);
        foreach (string line in new[] { "matvec q8_0 [Dp]", "matvec q8_0 [AdvSimd]", "matvec q4_0 [Dp]", "matvec q4_0 [AdvSimd]", "prefill4 q8_0 [Dp]", "prefill4 q4_0 [Dp]", "dot f32 [Vector128]", "quantize activation q8_0 [Vector128]" })
            Assert.Contains(line, dp);

        // 2. Dot product switched off: the dispatcher must fall back to plain NEON.
        string neon = RunUnderQemu(exe, ("DOTNET_TieredCompilation", "0"), ("DOTNET_EnableArm64Dp", "0"));
        Assert.Contains("Dp=False", neon);
        Assert.Contains("AdvSimd=True", neon);
        Assert.Contains("dispatch matvec q8_0: AdvSimd", neon);
        Assert.Contains("dispatch matvec q4_0: AdvSimd", neon);
        Assert.Contains("prefill q8_0 (dispatch) [AdvSimd]", neon);
        Assert.DoesNotContain("[Dp]", neon);

        // 3. No hardware intrinsics at all: every dispatcher takes its scalar path.
        string scalar = RunUnderQemu(exe, ("DOTNET_TieredCompilation", "0"), ("DOTNET_EnableHWIntrinsic", "0"));
        Assert.Contains("AdvSimd=False", scalar);
        Assert.Contains("dispatch matvec q8_0: Scalar", scalar);
        Assert.Contains("dispatch dot f32: Scalar", scalar);
    }

    /// <summary>Publishes tests/EdgeRuntime.KernelCheck self-contained for linux-arm64 into its own artifacts folder under
    /// the project's obj/ (incremental after the first run; the solution's own bin/obj are left alone).</summary>
    private string Publish()
    {
        string project = Path.Combine(TestPaths.Repository, "tests", "EdgeRuntime.KernelCheck");
        string artifacts = Path.Combine(project, "obj", "qemu-linux-arm64");
        string outDir = Path.Combine(artifacts, "out");
        var (code, stdout, stderr) = Artifacts.RunProcess(DotnetHost(), ["publish", Path.Combine(project, "EdgeRuntime.KernelCheck.csproj"), "-c", "Release", "-r", "linux-arm64",
            "--self-contained", "--artifacts-path", artifacts, "-o", outDir, "-nologo", "--disable-build-servers"], TimeSpan.FromMinutes(5));
        Assert.True(code == 0, $"dotnet publish -r linux-arm64 failed (exit {code}):\n{stdout}\n{stderr}");
        string exe = Path.Combine(outDir, "EdgeRuntime.KernelCheck");
        Assert.True(File.Exists(exe), $"published runner missing at {exe}");
        return exe;
    }

    private string RunUnderQemu(string exe, params (string Name, string Value)[] env)
    {
        var (code, stdout, stderr) = Artifacts.Run("linux-arm64", exe, [], TimeSpan.FromMinutes(3), qemuCpu: "max", env);
        output.WriteLine($"--- qemu {string.Join(" ", env.Select(e => $"{e.Name}={e.Value}"))} (exit {code})");
        output.WriteLine(stdout);
        if (stderr.Length > 0) output.WriteLine(stderr);
        Assert.True(code == 0, $"kernel check under qemu ({string.Join(" ", env.Select(e => $"{e.Name}={e.Value}"))}) exited {code}:\n{stdout}\n{stderr}");
        Assert.Contains("PASS", stdout);
        return stdout;
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
