using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Tools.Benchmarking;
using Spectre.Console;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw bench &lt;model&gt;</c>: llama-bench style speed of one model on this machine — pp512, tg128, decode at
/// depth, weight bytes per token, peak RSS, managed allocation per step, and optionally the machine's read bandwidth and
/// fp32 GEMM peak measured in the same process with the same worker pool.</summary>
/// <remarks>
/// Data goes to stdout (a table, or JSON with <c>--json</c>); phases and the depth advance show on stderr, refreshed only
/// between timed sections so the display never runs while a test is timed. Exit codes: 0 ok, 1 failure, 2 usage.
/// Stateless; each invocation stands alone.
/// </remarks>
public static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "Checkpoint directory (config.json + *.safetensors) or .gguf file (f32, f16, q8_0, q4_0)" };
        var threads = new Option<int>("--threads", "-t") { Description = "int >= 1, default: one per core: worker threads (the caller included)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on stdout" };
        var membw = new Option<bool>("--membw") { Description = "Also measure read bandwidth (vectorised sum over 1 GiB on the same workers) and report the decode roofline ratio" };
        var peak = new Option<bool>("--peak") { Description = "Also measure the fp32 GEMM peak (6x16 register-blocked micro-kernel on L1-resident panels) and prefill GFLOP/s" };
        var reps = new Option<int>("--reps", "-r") { Description = "int >= 1, default 5: timed repetitions of each test after one warm-up", DefaultValueFactory = _ => 5 };
        var depths = new Option<string>("--depths", "-d") { Description = "comma-separated ints >= 0, default 0,4096,32768: depths at which decode is timed (state advanced there by prefill); empty for none", DefaultValueFactory = _ => "0,4096,32768" };
        var depthSteps = new Option<int>("--depth-steps") { Description = "int >= 1, default 32: decode steps timed per repetition at each depth", DefaultValueFactory = _ => 32 };
        var depthFill = new Option<string>("--depth-fill")
        {
            Description = "prefill (default): reach each depth by prefilling every token | tail: set the position to depth-1024 and prefill the last 1024 tokens (same decode work, much faster; not the same numbers)",
            DefaultValueFactory = _ => "prefill",
        };
        depthFill.AcceptOnlyFromAmong("prefill", "tail");
        var tests = new Option<string>("--tests") { Description = "comma-separated subset of pp,tg,depth, default all: which tests to run (e.g. tg alone for profiling)", DefaultValueFactory = _ => "pp,tg,depth" };
        var command = new Command("bench", "Measure prefill and decode speed like llama-bench (pp512, tg128, decode at depth) and the memory-bandwidth roofline")
        {
            model, threads, json, membw, peak, reps, depths, depthSteps, depthFill, tests,
        };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(threads), parse.GetValue(json), parse.GetValue(membw), parse.GetValue(peak),
            parse.GetValue(reps), parse.GetValue(depths)!, parse.GetValue(depthSteps), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error,
            parse.GetValue(tests)!, parse.GetValue(depthFill) == "tail"));
        return command;
    }

    /// <summary>Runs the benchmark; returns the exit code.</summary>
    /// <param name="modelPath">Checkpoint directory or .gguf file.</param>
    /// <param name="threads">Worker threads, the caller included.</param>
    /// <param name="json">JSON instead of a table.</param>
    /// <param name="membw">Measure read bandwidth too.</param>
    /// <param name="peak">Measure the GEMM peak and prefill GFLOP/s too.</param>
    /// <param name="reps">Timed repetitions.</param>
    /// <param name="depthList">Comma-separated depths.</param>
    /// <param name="depthSteps">Steps timed per repetition at each depth.</param>
    /// <param name="output">Receives the data (stdout).</param>
    /// <param name="error">Receives progress and errors (stderr).</param>
    /// <param name="tests">Comma-separated subset of <c>pp,tg,depth</c>.</param>
    /// <param name="depthTail">Reach depths by setting the position and prefilling the last 1024 tokens only.</param>
    public static int Run(string modelPath, int threads, bool json, bool membw, bool peak, int reps, string depthList, int depthSteps,
        TextWriter output, TextWriter error, string tests = "pp,tg,depth", bool depthTail = false)
    {
        var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
        if (threads < 1 || reps < 1 || depthSteps < 1)
        {
            err.MarkupLine($"[red]bench:[/] --threads, --reps and --depth-steps must be >= 1 (got {threads}, {reps}, {depthSteps})");
            return ExitCodes.Usage;
        }
        if (!TryParseDepths(depthList, out var depths))
        {
            err.MarkupLine($"[red]bench:[/] --depths: expected comma-separated integers >= 0, got '{Markup.Escape(depthList)}'");
            return ExitCodes.Usage;
        }

        var selected = tests.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (selected.Length == 0 || selected.Any(t => t is not ("pp" or "tg" or "depth")))
        {
            err.MarkupLine($"[red]bench:[/] --tests: expected a comma-separated subset of pp,tg,depth, got '{Markup.Escape(tests)}'");
            return ExitCodes.Usage;
        }
        if (!selected.Contains("depth")) depths = [];

        using var pool = new WorkerPool(threads);
        IModel loaded;
        try
        {
            loaded = ModelLoader.Load(modelPath, new ModelOptions { Pool = pool });
        }
        catch (Exception ex) when (ex is ModelLoadException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            if (json) output.WriteLine(JsonSerializer.Serialize(new ErrorJson(ex.Message), ToolJsonContext.Default.ErrorJson));
            err.MarkupLine($"[red]bench:[/] {Markup.Escape(ex.Message)}");
            return ExitCodes.Usage;
        }

        BenchResult result;
        using (loaded)
        {
            var plan = new BenchPlan(reps, depths, depthSteps, Prompt: selected.Contains("pp"), Decode: selected.Contains("tg"), DepthTail: depthTail ? 1024 : 0);
            result = null!;
            err.Progress().AutoRefresh(false).HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    using var session = BenchSession.Create(loaded, seed: 1234);
                    result = ModelBench.Run(session, plan, new ProgressDisplay(ctx, $"{loaded.Info.Family} ×{threads}"),
                        membw ? () => MemoryBandwidth.Create(pool) : null);
                });
        }

        // Read bandwidth: the best pass, the passes interleaved with the decode repetitions (STREAM's best-of convention).
        double? bandwidth = result.BandwidthPasses.Count > 0 ? result.BandwidthPasses.Max() : null;
        double? gemm = null;
        if (peak)
        {
            err.MarkupLine("[grey]measuring fp32 GEMM micro-kernel peak...[/]");
            gemm = GemmPeak.Measure(pool);
        }

        double effective = result.Decode.Mean * result.WeightBytesPerToken;
        double prefillFlops = 2 * result.PrefillMultiplyAddsPerToken * result.Prefill.Mean;
        var report = new BenchJson(
            modelPath, threads, bandwidth / 1e9, result.WeightBytesPerToken,
            new BenchRateJson(result.Prefill.Mean, result.Prefill.Sd),
            new BenchDecodeJson(result.Decode.Mean, result.Decode.Sd, effective / 1e9),
            [.. result.Depths.Select(d => new BenchDepthJson(d.Depth, d.Rate.Mean))],
            result.PeakRssBytes, result.AllocatedBytesPerStep,
            peak ? prefillFlops / 1e9 : null, gemm / 1e9);
        if (json) output.WriteLine(JsonSerializer.Serialize(report, BenchJsonContext.Default.BenchJson));
        else WriteTable(output, report, result, loaded.Info, depthTail ? "depths reached by --depth-fill tail (position set, last 1024 tokens prefilled)" : "depths reached by prefilling every token");
        return ExitCodes.Ok;
    }

    private static void WriteTable(TextWriter output, BenchJson r, BenchResult result, ModelInfo info, string depthNote)
    {
        var ci = CultureInfo.InvariantCulture;
        var table = new Table().AddColumn("test").AddColumn(new TableColumn("t/s").RightAligned()).AddColumn(new TableColumn("sd").RightAligned()).AddColumn("notes");
        if (result.Prefill.Mean > 0) table.AddRow("pp512", r.Pp512.TokensPerSecond.ToString("F2", ci), r.Pp512.Sd.ToString("F2", ci),
            r.PrefillGflops is { } pf ? $"{pf:F1} GFLOP/s in linear layers" + (r.GemmPeakGflops is { } gp ? $" = {100 * pf / gp:F1}% of {gp:F1} GFLOP/s GEMM peak" : "") : "");
        string roof = r.MemoryBandwidthGBs is { } bw ? $" = {100 * r.Tg128.EffectiveBandwidthGBs / bw:F1}% of {bw:F2} GB/s read bandwidth" : "";
        if (result.Decode.Mean > 0) table.AddRow("tg128", r.Tg128.TokensPerSecond.ToString("F2", ci), r.Tg128.Sd.ToString("F2", ci), $"{r.Tg128.EffectiveBandwidthGBs:F2} GB/s of weights{roof}");
        double? depth0 = result.Depths.FirstOrDefault(d => d.Depth == 0) is { Rate.Mean: > 0 } z ? z.Rate.Mean : null;
        foreach (var (depth, rate) in result.Depths)
            table.AddRow($"tg @ d{depth}", rate.Mean.ToString("F2", ci), rate.Sd.ToString("F2", ci),
                (depth0 is { } d0 ? $"{100 * rate.Mean / d0:F1}% of depth 0; " : "") + depthNote);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        if (output != Console.Out || Console.IsOutputRedirected) console.Profile.Width = 160;  // a file or pipe: one row per line
        console.WriteLine($"{r.Model}: {info.Family}, {info.ParameterCount:N0} parameters, {info.WeightBytes:N0} weight bytes, {r.Threads} thread(s)");
        console.Write(table);
        console.WriteLine($"weight bytes per token: {r.WeightBytesPerToken:N0}; peak RSS: {r.PeakRssBytes / 1048576.0:F1} MiB; " +
            $"managed bytes allocated per step: {r.AllocatedBytesPerStep:F1} ({result.AllocatedBytes:N0} over {result.TimedSteps} timed steps)");
        if (result.BandwidthPasses.Count > 0)
            console.WriteLine($"read bandwidth passes (GB/s, interleaved with tg): {string.Join(" ", result.BandwidthPasses.Select(b => (b / 1e9).ToString("F1", ci)))}");
    }

    /// <summary>Parses "0,4096,32768" (empty: no depth tests).</summary>
    internal static bool TryParseDepths(string text, out int[] depths)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        depths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out depths[i])) return false;
        depths = [.. depths.Distinct().Order()];
        return true;
    }

    /// <summary>Spectre progress without auto-refresh: redrawn only when a phase starts or the depth advance moves.</summary>
    private sealed class ProgressDisplay(ProgressContext context, string title) : IBenchProgress
    {
        private readonly ProgressTask _task = context.AddTask(title, maxValue: 1);

        public void Phase(string description)
        {
            _task.Description = Markup.Escape($"{title}: {description}");
            context.Refresh();
        }

        public void Advance(long done, long total)
        {
            _task.MaxValue = Math.Max(1, total);
            _task.Value = done;
            context.Refresh();
        }
    }
}
