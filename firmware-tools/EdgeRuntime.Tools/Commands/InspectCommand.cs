using System.CommandLine;
using System.Text.Json;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;
using Spectre.Console;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw inspect &lt;model&gt;</c>: family, dimensions, parameters, weight bytes and per-session state bytes.</summary>
public static class InspectCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "Checkpoint directory (config.json + *.safetensors) or GGUF file." };
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON to stdout." };
        var command = new Command("inspect", "Describe a model: family, dimensions, parameter count, weight bytes, state bytes per session.") { model, json };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(json)));
        return command;
    }

    /// <summary>Loads and describes the model; returns the exit code.</summary>
    public static int Run(string modelPath, bool json)
    {
        ModelInfo info;
        try
        {
            using var model = ModelLoader.Load(modelPath, new ModelOptions { Threads = 1 });
            info = model.Info;
        }
        catch (Exception ex) when (ex is ModelLoadException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return VerifyCommand.Fail(json, ex.Message, ExitCodes.Usage);
        }
        if (json)
        {
            var dims = info.Dimensions.ToDictionary(kv => kv.Key, kv => kv.Value);
            Console.Out.WriteLine(JsonSerializer.Serialize(
                new InspectJson(info.Family, info.Location, dims, info.ParameterCount, info.WeightBytes, info.StateBytes), ToolJsonContext.Default.InspectJson));
            return ExitCodes.Ok;
        }
        var table = new Table().AddColumns("property", "value");
        table.AddRow("family", info.Family);
        table.AddRow("location", Markup.Escape(info.Location));
        foreach (var (k, v) in info.Dimensions) table.AddRow(Markup.Escape(k), Markup.Escape(v));
        table.AddRow("parameters", info.ParameterCount.ToString("N0"));
        table.AddRow("weight bytes", $"{info.WeightBytes:N0} ({info.WeightBytes / 1048576.0:F2} MiB)");
        table.AddRow("state bytes / session", info.StateBytes.ToString("N0"));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        console.Write(table);
        return ExitCodes.Ok;
    }
}
