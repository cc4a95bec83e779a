using System.CommandLine;

namespace EdgeRuntime.Tools.Commands;

/// <summary>The <c>edgefw</c> command tree.</summary>
public static class EdgeFwCli
{
    /// <summary>Parses and runs; returns the exit code (0 ok, 1 failure, 2 usage or unusable input).</summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand("edgefw: firmware tools for EdgeRuntime models (convert, quantize, inspect, verify, bench, bundle)");
        root.Add(ConvertCommand.Create());
        return root.Parse(args).Invoke();
    }
}
