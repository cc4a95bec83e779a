using System.CommandLine;
using EdgeRuntime.Models.Synthesis;
using Spectre.Console;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw synth --preset &lt;name&gt; -o &lt;dir&gt; [--layers N] [--seed S]</c>: a random-weight checkpoint in the
/// exact shapes of a published model, for benchmarking without downloads.</summary>
/// <remarks>
/// Writes <c>config.json</c> and <c>model.safetensors</c> (f32), streaming tensor by tensor. Progress on stderr; a summary
/// on stdout. Exit codes: 0 ok, 1 write failed, 2 usage. Stateless; each invocation stands alone.
/// </remarks>
public static class SynthCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var preset = new Option<string>("--preset", "-p")
        {
            Description = $"Published shapes to copy: {SyntheticPresets.Names}",
            Required = true,
        };
        preset.AcceptOnlyFromAmong([.. SyntheticPresets.All.Select(p => p.Name)]);
        var output = new Option<string>("--output", "-o") { Description = "Output checkpoint directory (created; config.json and model.safetensors are overwritten)", Required = true };
        var layers = new Option<int?>("--layers") { Description = "int, 1..published layer count (default: all): keep the first N layers and their mixer pattern" };
        var seed = new Option<ulong>("--seed") { Description = "ulong, default 42: random seed (same seed, same bytes)", DefaultValueFactory = _ => 42UL };
        var command = new Command("synth", "Write a random-weight checkpoint in the exact shapes of a published model") { preset, output, layers, seed };
        command.SetAction(parse => Run(parse.GetValue(preset)!, parse.GetValue(output)!, parse.GetValue(layers), parse.GetValue(seed),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>Writes the checkpoint; returns the exit code.</summary>
    /// <param name="presetName">One of <see cref="SyntheticPresets.All"/>.</param>
    /// <param name="directory">Output directory.</param>
    /// <param name="layers">Layer count, or null for the published one.</param>
    /// <param name="seed">Random seed.</param>
    /// <param name="output">Receives the summary (stdout).</param>
    /// <param name="error">Receives progress and errors (stderr).</param>
    public static int Run(string presetName, string directory, int? layers, ulong seed, TextWriter output, TextWriter error)
    {
        var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
        var preset = SyntheticPresets.Find(presetName);
        if (preset is null)
        {
            err.MarkupLine($"[red]synth:[/] unknown preset '{Markup.Escape(presetName)}'; expected one of {SyntheticPresets.Names}");
            return ExitCodes.Usage;
        }
        int n = layers ?? preset.LayerCount;
        if (n < 1 || n > preset.LayerCount)
        {
            err.MarkupLine($"[red]synth:[/] --layers for '{preset.Name}': expected 1..{preset.LayerCount}, got {n}");
            return ExitCodes.Usage;
        }
        long parameters = preset.ParameterCount(n);
        long bytes = 0;
        try
        {
            err.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"{preset.Name} ({n} layers)", maxValue: Math.Max(1, parameters * sizeof(float)));
                    bytes = SyntheticCheckpoint.Write(preset, directory, n, seed, new Progress(task));
                    task.Value = task.MaxValue;
                });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            err.MarkupLine($"[red]synth failed:[/] {Markup.Escape(ex.Message)}");
            return ExitCodes.Failure;
        }
        output.WriteLine($"{Path.GetFullPath(directory)}: {preset.Name}, {n} of {preset.LayerCount} layers, {parameters:N0} parameters, {bytes:N0} bytes f32, seed {seed}");
        output.WriteLine($"  {preset.Description}");
        output.WriteLine($"  shapes from {preset.Source}");
        return ExitCodes.Ok;
    }

    /// <summary>Synchronous progress into a Spectre task (System.Progress would post to the thread pool).</summary>
    private sealed class Progress(ProgressTask task) : IProgress<long>
    {
        public void Report(long value) => task.Value = value;
    }
}
