using System.CommandLine;
using System.Text.Json;
using EdgeRuntime.Cuda;
using EdgeRuntime.Cuda.Interop;
using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Verification;
using Spectre.Console;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw verify &lt;model&gt; --golden &lt;file&gt;</c>: runs a model against a golden file and reports each check.</summary>
public static class VerifyCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "Checkpoint directory (config.json + *.safetensors) or GGUF file." };
        var golden = new Option<string>("--golden") { Description = "Golden outputs (golden.safetensors). Required.", Required = true };
        var threads = new Option<int>("--threads") { Description = "Worker threads, integer >= 0 (default 0 = one per core).", DefaultValueFactory = _ => 0 };
        var tolerance = new Option<double>("--tolerance") { Description = "Max relative error per check under the f32 budget, > 0 (default 1e-4, the f32 bound of the goldens).", DefaultValueFactory = _ => GoldenVerifier.DefaultTolerance };
        var budget = new Option<string>("--budget")
        {
            Description = "Error budget: f32 (max rel error <= --tolerance, greedy tokens equal) | f16 | q8_0 | q4_0 (relRms and top-1 bounds of docs/formats.md, per family) | auto (default: a GGUF file's general.file_type, f32 for a directory).",
            DefaultValueFactory = _ => "auto",
        };
        budget.AcceptOnlyFromAmong("auto", "f32", "f16", "q8_0", "q4_0");
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON to stdout instead of a table." };
        var device = DeviceOption();
        var command = new Command("verify", "Run a model against a golden file; exit 0 if every check passes, 1 on a mismatch, 2 on unusable input.")
        {
            model, golden, threads, tolerance, budget, json, device,
        };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(golden)!, parse.GetValue(threads), parse.GetValue(tolerance), parse.GetValue(json),
            parse.GetValue(budget)!, parse.GetValue(device)!));
        return command;
    }

    /// <summary>The <c>--device cpu|cuda|auto</c> option shared by the commands that run a model.</summary>
    internal static Option<string> DeviceOption()
    {
        var device = new Option<string>("--device")
        {
            Description = "Where the model runs: cpu (default) | cuda (an NVIDIA GPU; exit 2 without one) | auto (cuda if a driver and GPU are found, else cpu with one line on stderr).",
            DefaultValueFactory = _ => "cpu",
        };
        device.AcceptOnlyFromAmong("cpu", "cuda", "auto");
        return device;
    }

    /// <summary>Runs the verification; returns the exit code.</summary>
    /// <param name="modelPath">Checkpoint directory or GGUF file.</param>
    /// <param name="goldenPath">golden.safetensors.</param>
    /// <param name="threads">Worker threads (0 = one per core).</param>
    /// <param name="tolerance">Max relative error of the f32 budget.</param>
    /// <param name="json">JSON to stdout instead of a table.</param>
    /// <param name="budgetType"><c>auto</c>, <c>f32</c>, <c>f16</c>, <c>q8_0</c> or <c>q4_0</c>.</param>
    /// <param name="device"><c>cpu</c>, <c>cuda</c> or <c>auto</c>.</param>
    public static int Run(string modelPath, string goldenPath, int threads, double tolerance, bool json, string budgetType = "auto", string device = "cpu")
    {
        if (threads < 0 || !(tolerance > 0)) return Fail(json, "verify: --threads must be >= 0 and --tolerance > 0", ExitCodes.Usage);
        if (budgetType != "auto" && !ErrorBudgets.Types.Contains(budgetType))
            return Fail(json, $"verify: --budget is '{budgetType}', expected auto, {string.Join(", ", ErrorBudgets.Types)}", ExitCodes.Usage);
        if (!DeviceSelection.TryParse(device, out var compute)) return Fail(json, $"verify: --device '{device}': expected {DeviceSelection.Values}", ExitCodes.Usage);
        VerifyReport report;
        try
        {
            string type = budgetType == "auto" ? ErrorBudgets.TypeOf(modelPath) : budgetType;
            using var model = DeviceSelection.Load(modelPath, new ModelOptions { Threads = threads }, compute, Console.Error.WriteLine);
            var budget = ErrorBudgets.For(type, model.Info.Family, tolerance);
            Console.Error.WriteLine($"verify: budget {budget.Describe()}{(budgetType == "auto" ? " (auto)" : "")}");
            var progress = new SyncProgress<string>(name => Console.Error.WriteLine($"verify: {name}"));
            report = GoldenVerifier.Verify(model, goldenPath, budget, progress);
        }
        catch (Exception ex) when (ex is ModelLoadException or IOException or UnauthorizedAccessException or NotSupportedException
            or CudaUnavailableException or CudaException)
        {
            return Fail(json, ex.Message, ExitCodes.Usage);
        }

        if (json)
        {
            var b = report.Budget;
            var dto = new VerifyJson(report.Model, report.Golden, report.Pass,
                report.Checks.Select(c => new VerifyCheckJson(c.Name, c.MaxRelError, c.RelRms, c.Top1Agreement, c.Tolerance, c.Pass, c.Detail)).ToList(),
                new VerifyBudgetJson(b.Type, b.Family, b.MaxRelError, b.RelRms, b.Top1Agreement, b.RequireEqualTokens, b.Describe()));
            Console.Out.WriteLine(JsonSerializer.Serialize(dto, ToolJsonContext.Default.VerifyJson));
        }
        else
        {
            var table = new Table().AddColumns("check", "max rel error", "rel RMS", "top-1", report.Budget.IsExact ? "max rel bound" : "rel RMS bound", "pass", "detail");
            foreach (var c in report.Checks)
                table.AddRow(Markup.Escape(c.Name), c.MaxRelError.ToString("E2"), c.RelRms.ToString("E2"), c.Top1Agreement.ToString("P1"),
                    c.Tolerance.ToString("G3"), c.Pass ? "[green]pass[/]" : "[red]FAIL[/]", Markup.Escape(c.Detail ?? ""));
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
            console.Write(table);
            console.WriteLine($"budget: {report.Budget.Describe()}");
            console.MarkupLine(report.Pass ? "[green]PASS[/] {0}" : "[red]FAIL[/] {0}", Markup.Escape(report.Model));
        }
        return report.Pass ? ExitCodes.Ok : ExitCodes.Failure;
    }

    internal static int Fail(bool json, string message, int code)
    {
        if (json) Console.Out.WriteLine(JsonSerializer.Serialize(new ErrorJson(message), ToolJsonContext.Default.ErrorJson));
        Console.Error.WriteLine($"error: {message}");
        return code;
    }
}
