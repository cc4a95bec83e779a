using System.Text.Json;
using EdgeRuntime.Tools.Bundling;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Delivery;

/// <summary><c>edgefw bundle</c> + the bundle's <c>install.sh</c>, unpacked with tar and installed into a temporary root
/// (<c>--root</c>): sums checked before anything else, files where the unit expects them, idempotent, a changed
/// configuration never overwritten without <c>--force</c>; and with the real NativeAOT binaries, the installed
/// <c>edge-runtime selftest</c> passes (x64 natively, arm64 under qemu).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class BundleInstallTests(ITestOutputHelper output)
{
    private static string Repo => TestPaths.Repository;
    private static string Deploy => Path.Combine(Repo, "runtime", "deploy");
    private static string SmallModel => Path.Combine(Repo, "samples", "models", "aaren-motes.gguf");

    /// <summary>A bundle around any x86-64 ELF executable (the script's logic does not run the binary).</summary>
    private static string StandInBinary()
    {
        string path = "/usr/bin/true";
        Assert.True(File.Exists(path), "/usr/bin/true (coreutils) is the stand-in executable of the install script tests");
        return path;
    }

    private static string Unpack(string archive, string into)
    {
        Directory.CreateDirectory(into);
        var (code, stdout, stderr) = Artifacts.RunProcess("tar", ["-xzf", archive, "-C", into], TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"tar -xzf {archive} failed: {stdout}{stderr}");
        string dir = Assert.Single(Directory.GetDirectories(into));
        return dir;
    }

    private (int Code, string Output) Install(string bundle, params string[] args)
    {
        var (code, stdout, stderr) = Artifacts.RunProcess("bash", [Path.Combine(bundle, "install.sh"), .. args], TimeSpan.FromMinutes(2));
        output.WriteLine($"--- install.sh {string.Join(" ", args)} (exit {code})\n{stdout}{stderr}");
        return (code, stdout + stderr);
    }

    private static string Bundle(string dir, string model, string binary, string rid = "linux-x64", string name = "bundle.tar.gz")
    {
        string archive = Path.Combine(dir, name);
        BundleBuilder.Build(new BundleInputs(rid, binary, model, Deploy, archive));
        return archive;
    }

    [Fact]
    public void Install_PlacesEveryFile_AndASecondRunChangesNothing()
    {
        using var tmp = TestPaths.NewTempDir();
        string bundle = Unpack(Bundle(tmp.Path, SmallModel, StandInBinary()), tmp.File("unpacked"));
        string root = tmp.File("root");

        var (code, text) = Install(bundle, "--root", root);
        Assert.True(code == 0, text);
        string opt = Path.Combine(root, "opt", "edge-runtime");
        Assert.Equal(File.ReadAllBytes(StandInBinary()), File.ReadAllBytes(Path.Combine(opt, "edge-runtime")));
        Assert.True(File.GetUnixFileMode(Path.Combine(opt, "edge-runtime")).HasFlag(UnixFileMode.OtherExecute));
        Assert.Equal(File.ReadAllBytes(SmallModel), File.ReadAllBytes(Path.Combine(opt, "models", "aaren-motes.gguf")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(Deploy, "edge-runtime.service")), File.ReadAllBytes(Path.Combine(root, "etc", "systemd", "system", "edge-runtime.service")));
        string config = Path.Combine(root, "etc", "edge-runtime", "appsettings.json");
        Assert.Equal("/opt/edge-runtime/models/aaren-motes.gguf",
            JsonDocument.Parse(File.ReadAllText(config)).RootElement.GetProperty("Model").GetProperty("Path").GetString());

        var before = Directory.GetFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        (code, text) = Install(bundle, "--root", root);
        Assert.True(code == 0, text);
        Assert.Contains("already up to date", text);
        var after = Directory.GetFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        Assert.Equal(before, after);
    }

    [Fact]
    public void Install_ChecksTheSums_BeforeInstallingAnything()
    {
        using var tmp = TestPaths.NewTempDir();
        string bundle = Unpack(Bundle(tmp.Path, SmallModel, StandInBinary()), tmp.File("unpacked"));
        string model = Path.Combine(bundle, "models", "aaren-motes.gguf");
        byte[] bytes = File.ReadAllBytes(model);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(model, bytes);
        string root = tmp.File("root");

        var (code, text) = Install(bundle, "--root", root);
        Assert.Equal(1, code);
        Assert.Contains("does not match its SHA256SUMS", text);
        Assert.False(Directory.Exists(root), "nothing may be installed from a corrupt bundle");

        // A truncated download: a listed file is missing.
        File.Delete(model);
        (code, text) = Install(bundle, "--root", root);
        Assert.Equal(1, code);
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void Install_RefusesToOverwriteAChangedConfiguration_WithoutForce()
    {
        using var tmp = TestPaths.NewTempDir();
        string first = Unpack(Bundle(tmp.Path, SmallModel, StandInBinary(), name: "a.tar.gz"), tmp.File("a"));
        string root = tmp.File("root");
        Assert.Equal(0, Install(first, "--root", root).Code);
        string config = Path.Combine(root, "etc", "edge-runtime", "appsettings.json");

        // An untouched configuration follows the bundle: a new model moves Model:Path without questions.
        string second = Unpack(Bundle(tmp.Path, TestPaths.Golden("aaren-tiny"), StandInBinary(), name: "b.tar.gz"), tmp.File("b"));
        var (code, text) = Install(second, "--root", root);
        Assert.True(code == 0, text);
        Assert.Contains("/opt/edge-runtime/models/aaren-tiny", File.ReadAllText(config));
        Assert.True(File.Exists(Path.Combine(root, "opt", "edge-runtime", "models", "aaren-tiny", "config.json")));
        Assert.False(File.Exists(Path.Combine(root, "opt", "edge-runtime", "models", "aaren-tiny", "golden.safetensors")), "goldens are not shipped");

        // The operator edits it; installing the first bundle again must stop before changing anything.
        string edited = File.ReadAllText(config).Replace("\"embedded\"", "\"broker.lan:1883\"", StringComparison.Ordinal);
        Assert.NotEqual(File.ReadAllText(config), edited);
        File.WriteAllText(config, edited);
        var binaryTime = File.GetLastWriteTimeUtc(Path.Combine(root, "opt", "edge-runtime", "edge-runtime"));
        (code, text) = Install(first, "--root", root);
        Assert.Equal(1, code);
        Assert.Contains("was changed since it was installed", text);
        Assert.Contains("--force", text);
        Assert.Equal(edited, File.ReadAllText(config));
        Assert.False(File.Exists(Path.Combine(root, "opt", "edge-runtime", "models", "aaren-motes.gguf.new")));

        // --keep-config installs the rest and keeps the edit.
        (code, text) = Install(first, "--root", root, "--keep-config");
        Assert.True(code == 0, text);
        Assert.Equal(edited, File.ReadAllText(config));
        Assert.Equal(binaryTime, File.GetLastWriteTimeUtc(Path.Combine(root, "opt", "edge-runtime", "edge-runtime")));

        // --force replaces it and keeps the edit as .bak.
        (code, text) = Install(first, "--root", root, "--force");
        Assert.True(code == 0, text);
        Assert.Equal(edited, File.ReadAllText(config + ".bak"));
        Assert.Contains("/opt/edge-runtime/models/aaren-motes.gguf", File.ReadAllText(config));
    }

    [Fact]
    public void Install_RejectsUsageErrors_AndALooseScript()
    {
        using var tmp = TestPaths.NewTempDir();
        string bundle = Unpack(Bundle(tmp.Path, SmallModel, StandInBinary()), tmp.File("unpacked"));
        Assert.Equal(2, Install(bundle, "--frobnicate").Code);
        Assert.Equal(2, Install(bundle, "--force", "--keep-config", "--root", tmp.File("r")).Code);
        // The script from the source tree has no SHA256SUMS beside it: it refuses to guess.
        var (code, text) = Install(Deploy, "--root", tmp.File("r"));
        Assert.Equal(1, code);
        Assert.Contains("no SHA256SUMS", text);
    }

    [AotFact("linux-x64", "edge-runtime", "edgefw")]
    public void X64Bundle_Installs_AndTheInstalledBinaryPassesSelftest() => BundleInstallSelftest("linux-x64", "Avx2");

    [AotFact("linux-arm64", "edge-runtime")]
    public void Arm64Bundle_Installs_AndTheInstalledBinaryPassesSelftestUnderQemu() => BundleInstallSelftest("linux-arm64", "Dp");

    private void BundleInstallSelftest(string rid, string q8Path)
    {
        using var tmp = TestPaths.NewTempDir();
        // The bundle is made by the AOT edgefw of this machine (x64), for either target.
        string edgefw = Artifacts.Require("linux-x64", "edgefw");
        string binary = Artifacts.Require(rid, "edge-runtime");
        string archive = tmp.File($"edge-runtime-{rid}.tar.gz");
        var (code, stdout, stderr) = Artifacts.RunProcess(edgefw,
            ["bundle", "--rid", rid, "--model", Path.Combine(Repo, "samples", "models", "based-moby-q8_0.gguf"), "--binary", binary, "--deploy-dir", Deploy, "-o", archive],
            TimeSpan.FromMinutes(5));
        output.WriteLine(stdout + stderr);
        Assert.True(code == 0, $"edgefw bundle exited {code}: {stdout}{stderr}");

        string bundle = Unpack(archive, tmp.File("unpacked"));
        string root = tmp.File("root");
        var (icode, text) = Install(bundle, "--root", root);
        Assert.True(icode == 0, text);

        string installed = Path.Combine(root, "opt", "edge-runtime", "edge-runtime");
        Assert.Equal(File.ReadAllBytes(binary), File.ReadAllBytes(installed));
        var (scode, sout, serr) = Artifacts.Run(rid, installed, ["selftest", "--json"], TimeSpan.FromMinutes(5));
        output.WriteLine(sout + serr);
        Assert.True(scode == 0, $"installed {rid} selftest exited {scode}: {sout}{serr}");
        var json = JsonDocument.Parse(sout).RootElement;
        Assert.True(json.GetProperty("pass").GetBoolean());
        string dot = json.GetProperty("paths").EnumerateArray().First(p => p.GetProperty("kernel").GetString() == "dot q8_0").GetProperty("path").GetString()!;
        if (q8Path == "Dp") Assert.Equal("Dp", dot);
        else Assert.Contains(dot, new[] { "Avx2", "AvxVnni" });

        // The installed configuration points at the installed model.
        string modelPath = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "etc", "edge-runtime", "appsettings.json")))
            .RootElement.GetProperty("Model").GetProperty("Path").GetString()!;
        Assert.Equal("/opt/edge-runtime/models/based-moby-q8_0.gguf", modelPath);
        Assert.True(File.Exists(root + modelPath));
    }
}
