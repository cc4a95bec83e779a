using System.Diagnostics;

namespace EdgeRuntime.Tests.Service;

/// <summary>runtime/deploy/install.sh staged into a directory (--root): the files land where the unit expects them, and a
/// second run upgrades the binary and model but keeps the operator's configuration.</summary>
public sealed class InstallScriptTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "runtime", "deploy", "install.sh"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("runtime/deploy/install.sh not found above the test directory");
    }

    private static (int Code, string Output) Install(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(RepoRoot(), "runtime", "deploy", "install.sh"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)), "install.sh did not finish");
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Install_StagesFiles_AndIsIdempotent()
    {
        using var dir = TestPaths.NewTempDir();
        string from = Path.Combine(dir.Path, "publish");
        string root = Path.Combine(dir.Path, "root");
        Directory.CreateDirectory(from);
        File.WriteAllText(Path.Combine(from, "edge-runtime"), "#!/bin/sh\necho v1\n");
        File.SetUnixFileMode(Path.Combine(from, "edge-runtime"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var (code, output) = Install("--from", from, "--model", TestPaths.Golden("based-tiny"), "--root", root);
        Assert.True(code == 0, output);
        Assert.True(File.Exists(Path.Combine(root, "opt/edge-runtime/edge-runtime")));
        Assert.True(File.Exists(Path.Combine(root, "opt/edge-runtime/appsettings.json")));
        Assert.True(File.Exists(Path.Combine(root, "opt/edge-runtime/model/config.json")));
        Assert.True(File.Exists(Path.Combine(root, "etc/systemd/system/edge-runtime.service")));
        string config = Path.Combine(root, "etc/edge-runtime/appsettings.json");
        Assert.Contains("/opt/edge-runtime/model", File.ReadAllText(config));

        // The operator edits the configuration; a new binary is installed over the old one.
        File.WriteAllText(config, "{\"Edge\":{\"NodeId\":\"pump-house\"}}");
        File.WriteAllText(Path.Combine(from, "edge-runtime"), "#!/bin/sh\necho v2\n");
        (code, output) = Install("--from", from, "--root", root);
        Assert.True(code == 0, output);
        Assert.Contains("keeping the existing", output);
        Assert.Equal("{\"Edge\":{\"NodeId\":\"pump-house\"}}", File.ReadAllText(config));
        Assert.Contains("v2", File.ReadAllText(Path.Combine(root, "opt/edge-runtime/edge-runtime")));
        Assert.True(File.Exists(Path.Combine(root, "opt/edge-runtime/model/config.json")), "the model stays when --model is not given");
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "opt/edge-runtime"), ".edge-runtime.new"));
    }

    [Fact]
    public void Install_RefusesAMissingBinary_AndAnUnknownArgument()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, output) = Install("--from", dir.Path, "--root", Path.Combine(dir.Path, "root"));
        Assert.Equal(1, code);
        Assert.Contains("no executable", output);
        (code, output) = Install("--frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("unknown argument", output);
    }
}
