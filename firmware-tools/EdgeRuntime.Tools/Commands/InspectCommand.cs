using System.CommandLine;
using System.Text.Json;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;
using EdgeRuntime.Models.Sessions;
using Spectre.Console;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw inspect &lt;model&gt;</c>: family, dimensions, parameters, weight bytes and per-session state bytes;
/// for a GGUF file also its header, metadata table and tensor table (name, type, shape, bytes, offset).</summary>
public static class InspectCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "Checkpoint directory (config.json + *.safetensors) or GGUF file." };
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON to stdout." };
        var command = new Command("inspect", "Describe a model: family, dimensions, parameter count, weight bytes, state bytes per session; for a GGUF file also every metadata key and the tensor table.") { model, json };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(json)));
        return command;
    }

    /// <summary>Loads and describes the model; returns the exit code.</summary>
    public static int Run(string modelPath, bool json)
    {
        ModelInfo info;
        GgufReader? gguf = null;
        try
        {
            using var model = ModelLoader.Load(modelPath, new ModelOptions { Threads = 1 });
            info = model.Info;
            if (File.Exists(modelPath) && GgufReader.HasMagic(modelPath)) gguf = new GgufReader(modelPath);
        }
        catch (Exception ex) when (ex is ModelLoadException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return VerifyCommand.Fail(json, ex.Message, ExitCodes.Usage);
        }
        if (json)
        {
            var dims = info.Dimensions.ToDictionary(kv => kv.Key, kv => kv.Value);
            using (gguf)
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(
                    new InspectJson(info.Family, info.Location, dims, info.ParameterCount, info.WeightBytes, info.StateBytes, gguf is null ? null : GgufInspect.ToJson(gguf)),
                    ToolJsonContext.Default.InspectJson));
            }
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
        // Redirected output has no terminal width (Spectre assumes 80): keep keys and tensor names on one line for grep.
        if (Console.IsOutputRedirected) console.Profile.Width = Math.Max(console.Profile.Width, 200);
        console.Write(table);
        using (gguf)
            if (gguf is not null) GgufInspect.WriteTables(console, gguf);
        return ExitCodes.Ok;
    }
}
