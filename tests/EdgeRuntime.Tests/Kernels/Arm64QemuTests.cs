using System.Diagnostics;
using EdgeRuntime.Core.Diagnostics;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Kernels;

/// <summary>The arm64 kernel paths (ARM dot product, plain NEON, scalar) checked on an emulated arm64 CPU: the kernel
/// self-test is published self-contained for linux-arm64 and run under <c>qemu-aarch64-static</c>, once as the CPU comes
/// (dot product on), once with <c>DOTNET_EnableArm64Dp=0</c> (plain NEON) and once with <c>DOTNET_EnableHWIntrinsic=0</c>
/// (scalar). Needs qemu-user-static and the arm64 C library (libc6-arm64-cross); .ci/run installs them. A missing tool
/// fails the test: nothing is skipped silently.</summary>
public sealed class Arm64QemuTests(ITestOutputHelper output)
{
    private const string Qemu = "qemu-aarch64-static";
    private const string Sysroot = "/usr/aarch64-linux-gnu";

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
        string qemu = FindOnPath(Qemu) ?? throw new Xunit.Sdk.XunitException(
            $"{Qemu} not found on PATH: install it (Debian: apt-get install -y qemu-user-static libc6-arm64-cross; .ci/run does this) to run the arm64 kernel paths");
        Assert.True(File.Exists(Path.Combine(Sysroot, "lib", "ld-linux-aarch64.so.1")),
            $"{Sysroot}/lib/ld-linux-aarch64.so.1 not found: install the arm64 C library (apt-get install -y libc6-arm64-cross; .ci/run does this)");

        string exe = Publish();

        // 1. The CPU as qemu emulates it ("max": ARMv8.2+ with dot product). Full-opt JIT so the code that runs is the
        //    steady-state code, not tier 0.
        string dp = RunUnderQemu(qemu, exe, ("DOTNET_TieredCompilation", "0"));
        Assert.Contains("arch: Arm64", dp);
        Assert.Contains("Dp=True", dp);
        Assert.Contains("dispatch matvec q8_0: Dp", dp);
        Assert.Contains("dispatch matvec q4_0: Dp", dp);
        foreach (string line in new[] { "matvec q8_0 [Dp]", "matvec q8_0 [AdvSimd]", "matvec q4_0 [Dp]", "matvec q4_0 [AdvSimd]", "prefill4 q8_0 [Dp]", "prefill4 q4_0 [Dp]", "dot f32 [Vector128]", "quantize activation q8_0 [Vector128]" })
            Assert.Contains(line, dp);

        // 2. Dot product switched off: the dispatcher must fall back to plain NEON.
        string neon = RunUnderQemu(qemu, exe, ("DOTNET_TieredCompilation", "0"), ("DOTNET_EnableArm64Dp", "0"));
        Assert.Contains("Dp=False", neon);
        Assert.Contains("AdvSimd=True", neon);
        Assert.Contains("dispatch matvec q8_0: AdvSimd", neon);
        Assert.Contains("dispatch matvec q4_0: AdvSimd", neon);
        Assert.Contains("prefill q8_0 (dispatch) [AdvSimd]", neon);
        Assert.DoesNotContain("[Dp]", neon);

        // 3. No hardware intrinsics at all: every dispatcher takes its scalar path.
        string scalar = RunUnderQemu(qemu, exe, ("DOTNET_TieredCompilation", "0"), ("DOTNET_EnableHWIntrinsic", "0"));
        Assert.Contains("AdvSimd=False", scalar);
        Assert.Contains("dispatch matvec q8_0: Scalar", scalar);
        Assert.Contains("dispatch dot f32: Scalar", scalar);
    }

    /// <summary>Publishes tests/EdgeRuntime.KernelCheck self-contained for linux-arm64 into its own artifacts folder under
    /// the project's obj/ (incremental after the first run; the solution's own bin/obj are left alone).</summary>
    private string Publish()
    {
        string project = Path.Combine(RepositoryRoot(), "tests", "EdgeRuntime.KernelCheck");
        string artifacts = Path.Combine(project, "obj", "qemu-linux-arm64");
        string outDir = Path.Combine(artifacts, "out");
        var (code, stdout, stderr) = Run(DotnetHost(), ["publish", Path.Combine(project, "EdgeRuntime.KernelCheck.csproj"), "-c", "Release", "-r", "linux-arm64",
            "--self-contained", "--artifacts-path", artifacts, "-o", outDir, "-nologo", "--disable-build-servers"], [], TimeSpan.FromMinutes(5));
        Assert.True(code == 0, $"dotnet publish -r linux-arm64 failed (exit {code}):\n{stdout}\n{stderr}");
        string exe = Path.Combine(outDir, "EdgeRuntime.KernelCheck");
        Assert.True(File.Exists(exe), $"published runner missing at {exe}");
        return exe;
    }

    private string RunUnderQemu(string qemu, string exe, params (string Name, string Value)[] env)
    {
        var (code, stdout, stderr) = Run(qemu, ["-cpu", "max", "-L", Sysroot, exe], env, TimeSpan.FromMinutes(3));
        output.WriteLine($"--- qemu {string.Join(" ", env.Select(e => $"{e.Name}={e.Value}"))} (exit {code})");
        output.WriteLine(stdout);
        if (stderr.Length > 0) output.WriteLine(stderr);
        Assert.True(code == 0, $"kernel check under qemu ({string.Join(" ", env.Select(e => $"{e.Name}={e.Value}"))}) exited {code}:\n{stdout}\n{stderr}");
        Assert.Contains("PASS", stdout);
        return stdout;
    }

    private static (int Code, string Stdout, string Stderr) Run(string file, string[] args, (string Name, string Value)[] env, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        // The test host's own DOTNET_* knobs must not leak into the emulated runtime or the nested build.
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("DOTNET_Enable", StringComparison.Ordinal) || k == "DOTNET_TieredCompilation").ToList())
            psi.Environment.Remove(key);
        foreach (var (name, value) in env) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"{file} {string.Join(" ", args)} did not finish within {timeout}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeRuntime.sln"))) return d.FullName;
        throw new DirectoryNotFoundException($"EdgeRuntime.sln not found above {AppContext.BaseDirectory}");
    }
}
