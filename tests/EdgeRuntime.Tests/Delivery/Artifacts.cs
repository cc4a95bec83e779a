using System.Diagnostics;

namespace EdgeRuntime.Tests.Delivery;

/// <summary>The NativeAOT binaries under <c>artifacts/&lt;rid&gt;/</c> (built by <c>dotnet publish … -o artifacts/&lt;rid&gt;</c>;
/// .ci/run builds all four) and how to run them: natively, or under <c>qemu-aarch64-static</c> for linux-arm64.</summary>
internal static class Artifacts
{
    public const string Qemu = "qemu-aarch64-static";
    public const string Arm64Sysroot = "/usr/aarch64-linux-gnu";

    /// <summary>Set by .ci/run: a missing binary fails the test instead of skipping it.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("EDGE_REQUIRE_AOT") == "1";

    public static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeRuntime.sln"))) return d.FullName;
        throw new DirectoryNotFoundException($"EdgeRuntime.sln not found above {AppContext.BaseDirectory}");
    }

    public static string Binary(string rid, string name) => Path.Combine(RepositoryRoot(), "artifacts", rid, name);

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

    /// <summary>Runs <paramref name="exe"/> natively (x64) or under qemu (arm64 binaries).</summary>
    public static (int Code, string Stdout, string Stderr) Run(string rid, string exe, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null, string? qemuCpu = null)
    {
        if (rid == "linux-arm64")
        {
            string qemu = FindOnPath(Qemu) ?? throw new Xunit.Sdk.XunitException(
                $"{Qemu} not found on PATH: install it (apt-get install -y qemu-user-static libc6-arm64-cross; .ci/run does this) to run the arm64 binary");
            if (!File.Exists(Path.Combine(Arm64Sysroot, "lib", "ld-linux-aarch64.so.1")))
                throw new Xunit.Sdk.XunitException($"{Arm64Sysroot}/lib/ld-linux-aarch64.so.1 not found: apt-get install -y libc6-arm64-cross (.ci/run does this)");
            string[] cpu = qemuCpu is null ? [] : ["-cpu", qemuCpu];
            return RunProcess(qemu, [.. cpu, "-L", Arm64Sysroot, exe, .. args], timeout, workingDirectory);
        }
        return RunProcess(exe, args, timeout, workingDirectory);
    }

    public static (int Code, string Stdout, string Stderr) RunProcess(string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        foreach (string a in args) psi.ArgumentList.Add(a);
        // The test host's DOTNET_* knobs (and its build servers) must not reach the binaries under test.
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("DOTNET_", StringComparison.Ordinal) && k != "DOTNET_CLI_TELEMETRY_OPTOUT").ToList())
            psi.Environment.Remove(key);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"{file} {string.Join(" ", args)} did not finish within {timeout}");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
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
