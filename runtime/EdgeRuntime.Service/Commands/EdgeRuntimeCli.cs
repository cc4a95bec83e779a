using System.CommandLine;

namespace EdgeRuntime.Service.Commands;

/// <summary>The <c>edge-runtime</c> command tree: no command = serve (not implemented yet), <c>generate</c>.</summary>
/// <remarks>Parse errors exit 2 (System.CommandLine's default would be 1). Stateless.</remarks>
public static class EdgeRuntimeCli
{
    /// <summary>Parses and runs; returns the exit code (0 ok, 1 failure, 2 usage or unusable input).</summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand("edge-runtime: EdgeRuntime inference service (recurrent-form attention models on edge devices)");
        root.Subcommands.Add(GenerateCommand.Create());
        root.SetAction(parseResult =>
        {
            parseResult.InvocationConfiguration.Error.WriteLine(
                "edge-runtime: serving over MQTT is not implemented yet; run 'edge-runtime generate --model <dir> --prompt <text>' or 'edge-runtime --help'");
            return 1;
        });

        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors) Console.Error.WriteLine($"edge-runtime: {error.Message}");
            Console.Error.WriteLine("edge-runtime: see 'edge-runtime --help'");
            return 2;
        }
        return result.Invoke();
    }
}
