using System.CommandLine;
using EdgeRuntime.Tools.Bundling;
using Spectre.Console;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw bundle --rid &lt;rid&gt; --model &lt;dir|gguf&gt; -o &lt;file.tar.gz&gt;</c>: one archive to copy to a device.</summary>
public static class BundleCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var rid = new Option<string>("--rid") { Description = "Target: linux-x64 or linux-arm64. Required.", Required = true };
        var model = new Option<string>("--model") { Description = "Model to ship: a GGUF file or a checkpoint directory. Required.", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "Archive to write (default edge-runtime-<rid>.tar.gz)." };
        var binary = new Option<string?>("--binary") { Description = "NativeAOT edge-runtime executable (default artifacts/<rid>/edge-runtime under the repository)." };
        var deploy = new Option<string?>("--deploy-dir") { Description = "Folder with edge-runtime.service, install.sh, appsettings.json (default runtime/deploy under the repository)." };
        var command = new Command("bundle", "Pack the AOT binary, a model, appsettings.json, the systemd unit, install.sh and SHA256SUMS into a .tar.gz.")
        {
            rid, model, output, binary, deploy,
        };
        command.SetAction(parse => Run(parse.GetValue(rid)!, parse.GetValue(model)!, parse.GetValue(output), parse.GetValue(binary), parse.GetValue(deploy)));
        return command;
    }

    /// <summary>Builds the bundle; returns the exit code.</summary>
    public static int Run(string rid, string model, string? output, string? binary, string? deployDir)
    {
        string? repo = FindRepositoryRoot();
        binary ??= repo is null ? null : Path.Combine(repo, "artifacts", rid, "edge-runtime");
        deployDir ??= repo is null ? null : Path.Combine(repo, "runtime", "deploy");
        if (binary is null || deployDir is null)
            return VerifyCommand.Fail(false, "bundle: not inside the EdgeRuntime repository; pass --binary and --deploy-dir", ExitCodes.Usage);
        output ??= $"edge-runtime-{rid}.tar.gz";
        try
        {
            var entries = BundleBuilder.Build(new BundleInputs(rid, binary, model, deployDir, output),
                new SyncProgress<string>(p => Console.Error.WriteLine($"bundle: adding {p}")));
            var table = new Table().AddColumns("file", "bytes", "sha256");
            foreach (var e in entries) table.AddRow(Markup.Escape(e.Path), e.Bytes.ToString("N0"), e.Sha256[..16] + "…");
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
            console.Write(table);
            console.WriteLine($"wrote {Path.GetFullPath(output)} ({new FileInfo(output).Length:N0} bytes)");
            return ExitCodes.Ok;
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException)
        {
            return VerifyCommand.Fail(false, ex.Message, ExitCodes.Usage);
        }
    }

    private static string? FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EdgeRuntime.sln"))) return dir.FullName;
        return null;
    }
}
