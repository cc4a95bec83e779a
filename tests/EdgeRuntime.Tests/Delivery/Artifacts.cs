namespace EdgeRuntime.Tests.Delivery;

/// <summary>The NativeAOT binaries under <c>artifacts/&lt;rid&gt;/</c> (built by <c>dotnet publish … -o artifacts/&lt;rid&gt;</c>;
/// .ci/run builds all four) and how to run them: natively, or under <c>qemu-aarch64-static</c> for linux-arm64.</summary>
internal static class Artifacts
{
    public const string Qemu = "qemu-aarch64-static";
    public const string Arm64Sysroot = "/usr/aarch64-linux-gnu";

    /// <summary>Set by .ci/run: a missing binary fails the test instead of skipping it.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("EDGE_REQUIRE_AOT") == "1";

    public static string Binary(string rid, string name) => Path.Combine(TestPaths.Repository, "artifacts", rid, name);

    public static string PublishCommand(string rid, string name) =>
        $"dotnet publish {(name == "edgefw" ? "firmware-tools/EdgeRuntime.Tools" : "runtime/EdgeRuntime.Service")} -c Release -r {rid} -o artifacts/{rid}";

    /// <summary>The path of <paramref name="name"/> for <paramref name="rid"/>; fails with the publish command when absent.</summary>
    public static string Require(string rid, string name)
    {
        string path = Binary(rid, name);
        if (!File.Exists(path))
            throw new Xunit.Sdk.XunitException($"{path} not found: build it with `{PublishCommand(rid, name)}` (docs/deploy.md; .ci/run does this)");
        return path;
    }

    /// <summary>Runs <paramref name="exe"/> natively (x64) or under qemu (arm64 binaries; <paramref name="qemuCpu"/> picks the
    /// emulated CPU, default qemu's own).</summary>
    public static (int Code, string Stdout, string Stderr) Run(string rid, string exe, IEnumerable<string> args, TimeSpan timeout,
        string? qemuCpu = null, params (string Name, string Value)[] environment)
    {
        if (rid == "linux-arm64")
        {
            string qemu = RequireQemu();
            string[] cpu = qemuCpu is null ? [] : ["-cpu", qemuCpu];
            return RunProcess(qemu, [.. cpu, "-L", Arm64Sysroot, exe, .. args], timeout, environment);
        }
        return RunProcess(exe, args, timeout, environment);
    }

    /// <summary>The path of qemu-aarch64-static, after checking that it and the arm64 C library are installed; fails saying
    /// what to install otherwise (a missing tool fails, it is never skipped).</summary>
    public static string RequireQemu()
    {
        string qemu = ChildProcess.FindOnPath(Qemu) ?? throw new Xunit.Sdk.XunitException(
            $"{Qemu} not found on PATH: install it (apt-get install -y qemu-user-static libc6-arm64-cross; .ci/run does this) to run arm64 code");
        if (!File.Exists(Path.Combine(Arm64Sysroot, "lib", "ld-linux-aarch64.so.1")))
            throw new Xunit.Sdk.XunitException($"{Arm64Sysroot}/lib/ld-linux-aarch64.so.1 not found: apt-get install -y libc6-arm64-cross (.ci/run does this)");
        return qemu;
    }

    /// <summary>Runs <paramref name="file"/> with <paramref name="environment"/> added; the test host's own code-path knobs
    /// (<c>DOTNET_Enable*</c>, <c>DOTNET_TieredCompilation</c>) do not reach it.</summary>
    public static (int Code, string Stdout, string Stderr) RunProcess(string file, IEnumerable<string> args, TimeSpan timeout,
        params (string Name, string Value)[] environment)
    {
        var psi = ChildProcess.Describe(file, args);
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("DOTNET_Enable", StringComparison.Ordinal) || k == "DOTNET_TieredCompilation").ToList())
            psi.Environment.Remove(key);
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        return ChildProcess.Run(psi, timeout);
    }
}

/// <summary>A test of the published NativeAOT binaries: skipped, with the publish command in the skip text, when
/// <c>artifacts/&lt;rid&gt;/</c> lacks them (a fresh clone without clang: NativeAOT needs it), unless <c>EDGE_REQUIRE_AOT=1</c>
/// (.ci/run sets it after building them), which turns a missing binary into a failure.</summary>
public sealed class AotFactAttribute : FactAttribute
{
    /// <param name="rid">linux-x64 or linux-arm64.</param>
    /// <param name="binaries">Binaries the test runs (edge-runtime, edgefw).</param>
    public AotFactAttribute(string rid, params string[] binaries)
    {
        if (Artifacts.Required) return;
        foreach (string name in binaries.Length == 0 ? ["edge-runtime"] : binaries)
            if (!File.Exists(Artifacts.Binary(rid, name)))
            {
                Skip = $"needs the NativeAOT binary artifacts/{rid}/{name}: build it with `{Artifacts.PublishCommand(rid, name)}` (needs clang; docs/deploy.md)";
                return;
            }
    }
}
