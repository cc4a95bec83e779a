using System.CommandLine;
using EdgeRuntime.Service.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Commands;

/// <summary>The <c>edge-runtime</c> command line: no command serves over MQTT; <c>generate</c> runs one prompt locally;
/// <c>selftest</c> checks the kernels and built-in models on this CPU.</summary>
/// <remarks>
/// Serving takes configuration overrides as arguments (<c>--Model:Path=dir --Mqtt:EmbeddedPort=18830 --Edge:NodeId=n1</c>);
/// anything that does not start with a subcommand or a help/version flag is such an override. Exit codes: 0 ok, 1
/// failure, 2 usage or configuration error. Stateless.
/// </remarks>
public static class EdgeRuntimeCli
{
    private static readonly string[] s_cliWords = ["generate", "selftest", "help", "--help", "-h", "-?", "/?", "/h", "--version"];

    /// <summary>Runs the command line; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0 && s_cliWords.Contains(args[0], StringComparer.Ordinal)) return Run(args);
        return await ServeAsync(args).ConfigureAwait(false);
    }

    /// <summary>Parses and runs a subcommand (or help); returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand(
            "edge-runtime: EdgeRuntime inference service (recurrent-form attention models on edge devices).\n" +
            "With no command it serves the configured model over MQTT. Configuration comes from appsettings.json, EDGE_* environment\n" +
            "variables (EDGE_Mqtt__Broker=host:1883) and arguments such as --Model:Path=<dir> --Mqtt:EmbeddedPort=18830 --Edge:NodeId=n1.\n" +
            "Keys: Edge:NodeId, Edge:TopicPrefix, Model:Path, Model:Tokenizer, Model:Threads, Mqtt:Broker (embedded | host:port),\n" +
            "Mqtt:EmbeddedPort, Mqtt:Username, Mqtt:Password, Mqtt:Tls:{Enabled,CaFile,ClientCertificateFile,ClientKeyFile},\n" +
            "Mqtt:SharedGroup, Mqtt:ChunkFlushMilliseconds, Limits:{MaxPayloadBytes,MaxPromptTokens,MaxNewTokens,QueueLength,\n" +
            "ConcurrentSessions,Workers}, Sessions:{Directory,Persist}. See docs/deploy.md and docs/protocol.md.");
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(SelfTestCommand.Create());

        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors) Console.Error.WriteLine($"edge-runtime: {error.Message}");
            Console.Error.WriteLine("edge-runtime: see 'edge-runtime --help'");
            return 2;
        }
        return result.Invoke();
    }

    /// <summary>Serves until stopped (SIGTERM, Ctrl+C); returns the exit code.</summary>
    public static async Task<int> ServeAsync(string[] args)
    {
        IHost host;
        try
        {
            host = ServiceHost.Build(args);
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"edge-runtime: bad argument: {ex.Message}; configuration arguments look like --Model:Path=<dir>");
            return 2;
        }
        catch (InvalidDataException ex)
        {
            Console.Error.WriteLine($"edge-runtime: bad configuration file: {ex.Message}");
            return 2;
        }

        using (host)
        {
            try
            {
                await host.RunAsync().ConfigureAwait(false);
                return Environment.ExitCode;
            }
            catch (OptionsValidationException ex)
            {
                foreach (string failure in ex.Failures) Console.Error.WriteLine($"edge-runtime: configuration: {failure}");
                return 2;
            }
            catch (InvalidOperationException ex)
            {
                // Unconvertible configuration values, or the embedded broker's port is taken.
                Console.Error.WriteLine($"edge-runtime: {ex.Message}");
                return ex.Message.StartsWith("embedded broker", StringComparison.Ordinal) ? 1 : 2;
            }
        }
    }
}
