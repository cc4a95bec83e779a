using System.CommandLine;

namespace EdgeRuntime.Tools.Commands;

/// <summary>The <c>edgefw</c> command tree.</summary>
public static class EdgeFwCli
{
    /// <summary>Parses and runs; returns the exit code (0 ok, 1 failure, 2 usage or unusable input).</summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand("edgefw: firmware tools for EdgeRuntime models (convert, quantize, inspect, verify, bench, bundle)")
        {
            ConvertCommand.Create(),
            VerifyCommand.Create(),
            InspectCommand.Create(),
            BundleCommand.Create(),
            TokenizeCommand.Create(),
            TokenizeCommand.CreateDetokenize(),
            SynthCommand.Create(),
            BenchCommand.Create(),
            CudaCommand.Create(),
        };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine("Run 'edgefw --help' for usage.");
            return ExitCodes.Usage;
        }
        return parse.Invoke();
    }
}
