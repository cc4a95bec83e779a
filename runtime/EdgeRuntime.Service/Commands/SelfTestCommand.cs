using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeRuntime.Core.Diagnostics;
using EdgeRuntime.Models.Diagnostics;

namespace EdgeRuntime.Service.Commands;

/// <summary><c>edge-runtime selftest [--json]</c>: is this binary computing correctly on this CPU? Runs every kernel's vector
/// and ISA-specific paths against their scalar references on random data (<see cref="KernelSelfTest"/>) and one small
/// built-in model per family end to end (<see cref="ModelSelfTest"/>), and prints the path each kernel dispatches to
/// (<c>dot q8_0: Dp</c>).</summary>
/// <remarks>
/// Needs no model file and no network (it writes its built-in models to a temporary directory and deletes them). Exit
/// codes: 0 every check passed, 1 a mismatch (the failing lines say which), 2 usage. Stateless.
/// </remarks>
public static class SelfTestCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object on stdout" };
        var threads = new Option<int>("--threads") { Description = "Worker threads of the model checks (int >= 0, 0 = one per core)", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random test data (int)", DefaultValueFactory = _ => 42 };
        var command = new Command("selftest", "Check every kernel path against its scalar reference and a built-in model per family end to end; print the ISA path of each kernel")
        {
            json, threads, seed,
        };
        command.SetAction(parse => Run(parse.GetValue(json), parse.GetValue(threads), parse.GetValue(seed),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>Runs the self-test; returns the exit code.</summary>
    public static int Run(bool json, int threads, int seed, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (threads < 0)
        {
            error.WriteLine($"edge-runtime: selftest: --threads must be >= 0, got {threads}");
            return 2;
        }
        var started = System.Diagnostics.Stopwatch.StartNew();
        var kernels = KernelSelfTest.Run(seed);
        var models = ModelSelfTest.Run(threads, (ulong)seed, json ? null : new Progress<string>(p => error.WriteLine($"selftest: {p}")));
        bool pass = kernels.Pass && models.Pass;
        string version = typeof(SelfTestCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";

        if (json)
        {
            var result = new SelfTestResult
            {
                Pass = pass,
                Version = version,
                Architecture = RuntimeInformation.ProcessArchitecture.ToString(),
                Framework = RuntimeInformation.FrameworkDescription,
                NativeAot = !IsJit,
                ProcessorCount = Environment.ProcessorCount,
                Isa = Isa(),
                Paths = kernels.Dispatch.Select(d => new SelfTestPath(d.Kernel, d.Path)).ToList(),
                Kernels = kernels.Checks,
                Models = models.Checks,
                Seconds = Math.Round(started.Elapsed.TotalSeconds, 3),
            };
            output.WriteLine(JsonSerializer.Serialize(result, SelfTestJsonContext.Default.SelfTestResult));
            return pass ? 0 : 1;
        }

        output.WriteLine($"edge-runtime {version} selftest: {RuntimeInformation.ProcessArchitecture}, {RuntimeInformation.FrameworkDescription}" +
            $"{(IsJit ? " (JIT)" : " (NativeAOT)")}, {Environment.ProcessorCount} cpus");
        output.WriteLine("isa: " + string.Join(" ", Isa().Select(kv => $"{kv.Key}={kv.Value}")));
        output.WriteLine("kernel paths:");
        foreach (var (kernel, path) in kernels.Dispatch) output.WriteLine($"  {kernel}: {path}");
        output.WriteLine("kernel checks (vector path against its scalar reference):");
        foreach (var c in kernels.Checks) output.WriteLine("  " + c.Format());
        output.WriteLine("model checks (built-in models: parallel form against the recurrence; q8_0 within its budget):");
        foreach (var c in models.Checks) output.WriteLine("  " + c.Format());
        int failed = kernels.Checks.Count(c => !c.Pass) + models.Checks.Count(c => !c.Pass);
        output.WriteLine(pass
            ? $"PASS: {kernels.Checks.Count} kernel checks, {models.Checks.Count} model checks ({started.Elapsed.TotalSeconds:F1} s)"
            : $"FAIL: {failed} of {kernels.Checks.Count + models.Checks.Count} checks failed");
        return pass ? 0 : 1;
    }

    /// <summary>True when running on a JIT (dotnet run), false in the NativeAOT binary.</summary>
    private static bool IsJit => System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled;

    private static Dictionary<string, bool> Isa() => new()
    {
        ["AdvSimd"] = AdvSimd.IsSupported,
        ["Dp"] = Dp.IsSupported,
        ["Avx2"] = Avx2.IsSupported,
        ["Fma"] = Fma.IsSupported,
        ["AvxVnni"] = AvxVnni.IsSupported,
        ["Avx512F"] = Avx512F.IsSupported,
        ["Vector128"] = Vector128.IsHardwareAccelerated,
        ["Vector256"] = Vector256.IsHardwareAccelerated,
        ["Vector512"] = Vector512.IsHardwareAccelerated,
    };
}

/// <summary><c>edge-runtime selftest --json</c>.</summary>
internal sealed class SelfTestResult
{
    public bool Pass { get; init; }
    public string Version { get; init; } = "";
    public string Architecture { get; init; } = "";
    public string Framework { get; init; } = "";
    public bool NativeAot { get; init; }
    public int ProcessorCount { get; init; }
    public Dictionary<string, bool> Isa { get; init; } = [];
    public List<SelfTestPath> Paths { get; init; } = [];
    public IReadOnlyList<KernelCheck> Kernels { get; init; } = [];
    public IReadOnlyList<ModelCheck> Models { get; init; } = [];
    public double Seconds { get; init; }
}

/// <summary>The path a dispatcher picks, e.g. <c>dot q8_0</c> → <c>Dp</c>.</summary>
internal sealed record SelfTestPath(string Kernel, string Path);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(SelfTestResult))]
internal sealed partial class SelfTestJsonContext : JsonSerializerContext;
