using System.Text.Json;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Delivery;

/// <summary>The shipped NativeAOT binaries themselves (artifacts/linux-x64, artifacts/linux-arm64): <c>edge-runtime selftest</c>
/// passes and reports the vector paths the IlcInstructionSet baseline promises (AVX2 on x64, the ARM dot product on
/// arm64 under qemu), and <c>edgefw verify</c> reproduces every shared golden, the reference code's outputs.</summary>
public sealed class AotBinaryTests(ITestOutputHelper output)
{
    private static readonly string[] s_goldens = ["based-tiny", "transnormer-tiny", "aaren-tiny"];

    [AotFact("linux-x64")]
    public void X64Binary_Selftest_Passes_OnTheAvx2Paths()
    {
        var json = Selftest("linux-x64");
        Assert.Equal("X64", json.GetProperty("architecture").GetString());
        // x86-64-v3 is the baseline: without it NativeAOT would compile every Avx2.IsSupported to false.
        Assert.True(json.GetProperty("isa").GetProperty("Avx2").GetBoolean(), "the x64 binary must be built with IlcInstructionSet=x86-64-v3");
        var paths = Paths(json);
        Assert.Equal("Vector256", paths["dot f32"]);
        Assert.Equal("Vector256", paths["matvec f32"]);
        Assert.Equal("Vector256", paths["matmul f32"]);
        Assert.Contains(paths["dot q8_0"], new[] { "Avx2", "AvxVnni" });
        Assert.Contains(paths["dot q4_0"], new[] { "Avx2", "AvxVnni" });
        Assert.Equal("X86", paths["prefill q8_0/q4_0 4-token"]);
    }

    [AotFact("linux-arm64")]
    public void Arm64Binary_UnderQemu_Selftest_Passes_OnTheDotProductPath()
    {
        var json = Selftest("linux-arm64");
        Assert.Equal("Arm64", json.GetProperty("architecture").GetString());
        Assert.True(json.GetProperty("isa").GetProperty("Dp").GetBoolean(), "armv8.2-a,dotprod must make Dp.IsSupported true");
        var paths = Paths(json);
        Assert.Equal("Dp", paths["dot q8_0"]);
        Assert.Equal("Dp", paths["dot q4_0"]);
        Assert.Equal("Dp", paths["prefill q8_0/q4_0 4-token"]);
        Assert.Equal("Vector128", paths["dot f32"]);
        Assert.Equal("Vector128 (mat-vec per token)", paths["matmul f32"]);
    }

    [AotFact("linux-arm64")]
    public void Arm64Binary_RefusesToStart_OnACpuWithoutTheDotProduct()
    {
        // Cortex-A72 (Raspberry Pi 4) is ARMv8.0: below the armv8.2-a,dotprod,rcpc baseline. The runtime's start-up check
        // must stop the binary with a message instead of letting it die on an illegal instruction mid-request.
        var (code, stdout, stderr) = Artifacts.Run("linux-arm64", Artifacts.Require("linux-arm64", "edge-runtime"), ["selftest"],
            TimeSpan.FromMinutes(2), qemuCpu: "cortex-a72");
        output.WriteLine($"exit {code}\n{stdout}\n{stderr}");
        Assert.NotEqual(0, code);
        Assert.Contains("The required instruction sets are not supported by the current CPU", stdout + stderr);
        Assert.DoesNotContain("PASS", stdout);
    }

    [AotFact("linux-x64")]
    public void X64Binary_Selftest_PrintsOneLinePerKernelPath_AndPasses()
    {
        var (code, stdout, stderr) = Artifacts.Run("linux-x64", Artifacts.Require("linux-x64", "edge-runtime"), ["selftest"], TimeSpan.FromMinutes(2));
        output.WriteLine(stdout);
        Assert.True(code == 0, $"selftest exited {code}:\n{stdout}\n{stderr}");
        Assert.Contains("(NativeAOT)", stdout);
        Assert.Contains("  dot q8_0: ", stdout);
        Assert.Contains("  matvec f32: Vector256", stdout);
        Assert.Contains("model based-micro q8_0 prefill-all", stdout);
        Assert.Matches(@"PASS: \d+ kernel checks, \d+ model checks", stdout);
    }

    [AotFact("linux-x64", "edgefw")]
    public void X64Edgefw_VerifiesEverySharedGolden() => VerifyGoldens("linux-x64");

    [AotFact("linux-arm64", "edgefw")]
    public void Arm64Edgefw_UnderQemu_VerifiesEverySharedGolden() => VerifyGoldens("linux-arm64");

    [AotFact("linux-x64", "edgefw")]
    public void X64Edgefw_VerifiesTheShippedSampleModels_WithinTheirBudgets()
    {
        string edgefw = Artifacts.Require("linux-x64", "edgefw");
        string samples = Path.Combine(TestPaths.Repository, "samples", "models");
        foreach (var (model, golden) in new[] { ("based-moby-q8_0.gguf", "based-moby.golden.safetensors"), ("aaren-motes.gguf", "aaren-motes.golden.safetensors") })
        {
            var (code, stdout, stderr) = Artifacts.Run("linux-x64", edgefw,
                ["verify", Path.Combine(samples, model), "--golden", Path.Combine(samples, golden), "--json"], TimeSpan.FromMinutes(5));
            output.WriteLine(stdout);
            Assert.True(code == 0, $"edgefw verify {model} exited {code}:\n{stdout}\n{stderr}");
            Assert.True(JsonDocument.Parse(stdout).RootElement.GetProperty("pass").GetBoolean(), stdout);
        }
    }

    private void VerifyGoldens(string rid)
    {
        string edgefw = Artifacts.Require(rid, "edgefw");
        foreach (string name in s_goldens)
        {
            string dir = TestPaths.Golden(name);
            var (code, stdout, stderr) = Artifacts.Run(rid, edgefw, ["verify", dir, "--golden", Path.Combine(dir, "golden.safetensors"), "--json"], TimeSpan.FromMinutes(10));
            output.WriteLine($"--- {rid} edgefw verify {name} (exit {code})\n{stdout}");
            Assert.True(code == 0, $"{rid} edgefw verify {name} exited {code}:\n{stdout}\n{stderr}");
            var report = JsonDocument.Parse(stdout).RootElement;
            Assert.True(report.GetProperty("pass").GetBoolean(), stdout);
            Assert.True(report.GetProperty("checks").GetArrayLength() >= 4, "every golden has at least the prefill, step and split checks");
        }
    }

    private JsonElement Selftest(string rid)
    {
        var (code, stdout, stderr) = Artifacts.Run(rid, Artifacts.Require(rid, "edge-runtime"), ["selftest", "--json"], TimeSpan.FromMinutes(5));
        output.WriteLine($"--- {rid} edge-runtime selftest --json (exit {code})\n{stdout}\n{stderr}");
        Assert.True(code == 0, $"{rid} selftest exited {code}:\n{stdout}\n{stderr}");
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.True(json.GetProperty("pass").GetBoolean());
        Assert.True(json.GetProperty("nativeAot").GetBoolean(), "the published binary must be NativeAOT");
        Assert.True(json.GetProperty("kernels").GetArrayLength() >= 10);
        Assert.True(json.GetProperty("models").GetArrayLength() >= 12);
        foreach (var c in json.GetProperty("kernels").EnumerateArray().Concat(json.GetProperty("models").EnumerateArray()))
            Assert.True(c.GetProperty("pass").GetBoolean(), c.ToString());
        return json;
    }

    private static Dictionary<string, string> Paths(JsonElement json) =>
        json.GetProperty("paths").EnumerateArray().ToDictionary(p => p.GetProperty("kernel").GetString()!, p => p.GetProperty("path").GetString()!);
}
