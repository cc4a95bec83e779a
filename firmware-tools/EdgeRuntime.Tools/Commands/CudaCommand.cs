using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EdgeRuntime.Cuda;
using EdgeRuntime.Cuda.Diagnostics;
using EdgeRuntime.Cuda.Interop;
using EdgeRuntime.Cuda.Models;
using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw cuda info|synth|compare|bench</c>: the GPU backend's device report, synthetic published-size
/// checkpoints, CUDA-vs-CPU agreement and decode benchmarks (docs/benchmarks-gpu.md).</summary>
public static class CudaCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Builds the command tree.</summary>
    public static Command Create()
    {
        var info = new Command("info", "Open the GPU, compile (or load from the cache) the kernels, measure read bandwidth.");
        info.SetAction(_ => Info());

        var kernels = new Command("kernels", "Check every linear-layer kernel (f32, f16, q8_0, q4_0 × batch variants) against a double-precision reference.");
        kernels.SetAction(_ => Kernels());

        var synthDir = new Argument<string>("directory") { Description = "Output directory (config.json + model.safetensors)." };
        var shape = new Option<string>("--shape") { Description = "based-360m (27 layers, d 1024, 362M parameters, 1.45 GB f32) | tiny. Default based-360m.", DefaultValueFactory = _ => "based-360m" };
        shape.AcceptOnlyFromAmong("based-360m", "tiny");
        var seed = new Option<int>("--seed") { Description = "Random seed, integer (default 42).", DefaultValueFactory = _ => 42 };
        var synth = new Command("synth", "Write a random BASED checkpoint with the layout and sizes of a published one.") { synthDir, shape, seed };
        synth.SetAction(p => Synth(p.GetValue(synthDir)!, p.GetValue(shape)!, p.GetValue(seed)));

        var model = new Argument<string>("model") { Description = "Checkpoint directory or GGUF file." };
        var steps = new Option<int>("--steps") { Description = "Tokens (steps) per sequence, >= 2 (default 32).", DefaultValueFactory = _ => 32 };
        var batch = new Option<int>("--batch") { Description = "Sessions in the batched check, >= 1 (default 4).", DefaultValueFactory = _ => 4 };
        var tolerance = new Option<double>("--tolerance") { Description = "Max relative error per check (default 1e-4).", DefaultValueFactory = _ => 1e-4 };
        var threads = new Option<int>("--threads") { Description = "CPU worker threads, >= 0 (default 0 = one per core).", DefaultValueFactory = _ => 0 };
        var weights = new Option<string>("--weights") { Description = "Device weight storage: stored (as in the file) | f16 (f32 matrices narrowed). Default stored.", DefaultValueFactory = _ => "stored" };
        weights.AcceptOnlyFromAmong("stored", "f16");
        var compare = new Command("compare", "Run the same random inputs on the CPU and the GPU; exit 0 when every check is within tolerance.")
        {
            model, steps, batch, tolerance, threads, weights,
        };
        compare.SetAction(p => Compare(p.GetValue(model)!, p.GetValue(steps), p.GetValue(batch), p.GetValue(tolerance), p.GetValue(threads), p.GetValue(weights)!));

        var benchModel = new Argument<string>("model") { Description = "Checkpoint directory or GGUF file of a language model." };
        var batches = new Option<string>("--batch") { Description = "Comma-separated batch sizes (default 1,64).", DefaultValueFactory = _ => "1,64" };
        var benchSteps = new Option<int>("--steps") { Description = "Timed steps per batch size (default 50).", DefaultValueFactory = _ => 50 };
        var benchWeights = new Option<string>("--weights") { Description = "stored | f16 (default stored).", DefaultValueFactory = _ => "stored" };
        benchWeights.AcceptOnlyFromAmong("stored", "f16");
        var noGraphs = new Option<bool>("--no-graphs") { Description = "Launch kernels one by one instead of replaying a CUDA graph." };
        var cpuSteps = new Option<int>("--cpu-steps") { Description = "Also time this many CPU decode steps at batch 1 (default 0 = skip).", DefaultValueFactory = _ => 0 };
        var profile = new Option<bool>("--profile") { Description = "Also print the GPU time per kernel of one step at each batch size." };
        var bench = new Command("bench", "Decode throughput on the GPU at each batch size, against the weight-bandwidth floor.")
        {
            benchModel, batches, benchSteps, benchWeights, noGraphs, cpuSteps, threads, profile,
        };
        bench.SetAction(p => Bench(p.GetValue(benchModel)!, p.GetValue(batches)!, p.GetValue(benchSteps), p.GetValue(benchWeights)!,
            p.GetValue(noGraphs), p.GetValue(cpuSteps), p.GetValue(threads), p.GetValue(profile)));

        return new Command("cuda", "GPU backend tools: info, kernels, synth, compare, bench.") { info, kernels, synth, compare, bench };
    }

    private static int Info() => Guard(() =>
    {
        using var device = CudaDevice.Open(0, Console.Error.WriteLine);
        Console.WriteLine($"device: {device.Description}");
        Console.WriteLine($"l2: {device.L2CacheBytes / (1 << 20)} MiB");
        var k = device.LoadKernels();
        Console.WriteLine($"kernels: {k.Target}, {k.Image.Length} bytes, {(k.FromCache ? "from cache" : $"compiled in {k.CompileMilliseconds:F0} ms")}, {k.CachePath ?? "not cached"}");
        double bw = CudaBenchmark.MeasureReadBandwidth(device);
        Console.WriteLine($"read bandwidth: {bw / 1e9:F0} GB/s");
        return ExitCodes.Ok;
    });

    private static int Kernels() => Guard(() =>
    {
        using var device = CudaDevice.Open(0, Console.Error.WriteLine);
        var checks = CudaKernelCheck.Run(device);
        bool pass = true;
        foreach (var group in checks.GroupBy(c => (c.Type, c.Rows, c.Cols)))
        {
            double worst = group.Max(c => c.MaxRelError);
            bool ok = group.All(c => c.Pass);
            pass &= ok;
            Console.WriteLine(string.Create(Inv, $"{group.Key.Type,-5} {group.Key.Rows,5}x{group.Key.Cols,-5} tokens {string.Join(",", group.Select(c => c.Tokens))}: worst max_rel {worst:E2} {(ok ? "pass" : "FAIL")}"));
        }
        Console.WriteLine(string.Create(Inv, $"{(pass ? "PASS" : "FAIL")} {checks.Count} kernel checks (bound {CudaKernelCheck.Tolerance:E0})"));
        return pass ? ExitCodes.Ok : ExitCodes.Failure;
    });

    private static int Synth(string dir, string shape, int seed) => Guard(() =>
    {
        var s = shape == "tiny" ? BasedShape.Tiny : BasedShape.Based360M;
        long t0 = Stopwatch.GetTimestamp();
        SyntheticCheckpoint.WriteBased(dir, s, (ulong)seed);
        Console.WriteLine($"synth: {shape} written to {Path.GetFullPath(dir)} in {Stopwatch.GetElapsedTime(t0).TotalSeconds:F1} s");
        return ExitCodes.Ok;
    });

    private static int Compare(string path, int steps, int batch, double tol, int threads, string weights) => Guard(() =>
    {
        if (steps < 2 || batch < 1 || !(tol > 0)) return VerifyCommand.Fail(false, "cuda compare: --steps >= 2, --batch >= 1, --tolerance > 0", ExitCodes.Usage);
        using var cpu = ModelLoader.Load(path, new ModelOptions { Threads = threads });
        using var gpu = DeviceSelection.Load(path, null, ComputeDevice.Cuda, Console.Error.WriteLine, Options(weights, graphs: true));
        long t0 = Stopwatch.GetTimestamp();
        var checks = CudaComparison.Run(cpu, gpu, steps, batch, seed: 7, tol, new SyncProgress<string>(n => Console.Error.WriteLine($"compare: {n}")));
        bool pass = true;
        foreach (var c in checks)
        {
            pass &= c.Pass;
            Console.WriteLine(string.Create(Inv, $"{c.Name,-22} max_rel {c.MaxRelError:E2}  rel_rms {c.RelRms:E2}  top1 {c.Top1Agreement:P1}  {(c.Pass ? "pass" : "FAIL")} {c.Detail}"));
        }
        Console.WriteLine(string.Create(Inv, $"{(pass ? "PASS" : "FAIL")} {path} ({cpu.Info.Family}, weights {weights}, {steps} steps, batch {batch}, {Stopwatch.GetElapsedTime(t0).TotalSeconds:F1} s)"));
        return pass ? ExitCodes.Ok : ExitCodes.Failure;
    });

    private static int Bench(string path, string batches, int steps, string weights, bool noGraphs, int cpuSteps, int threads, bool profile) => Guard(() =>
    {
        var sizes = new List<int>();
        foreach (var part in batches.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, Inv, out int n) || n < 1)
                return VerifyCommand.Fail(false, $"cuda bench: --batch '{batches}': expected comma-separated integers >= 1", ExitCodes.Usage);
            sizes.Add(n);
        }
        if (steps < 1) return VerifyCommand.Fail(false, "cuda bench: --steps must be >= 1", ExitCodes.Usage);
        long load0 = Stopwatch.GetTimestamp();
        using var model = DeviceSelection.Load(path, null, ComputeDevice.Cuda, Console.Error.WriteLine, Options(weights, !noGraphs));
        if (model is not CudaLanguageModel lm) return VerifyCommand.Fail(false, "cuda bench: needs a language model (based or transnormer)", ExitCodes.Usage);
        Console.WriteLine(string.Create(Inv, $"model: {path} ({lm.Info.Family}, {lm.Info.ParameterCount / 1e6:F1}M parameters), loaded and uploaded in {Stopwatch.GetElapsedTime(load0).TotalSeconds:F1} s"));
        Console.WriteLine($"device: {lm.Device.Description}");
        double bw = CudaBenchmark.MeasureReadBandwidth(lm.Device);
        Console.WriteLine(string.Create(Inv, $"weights on device: {lm.MatrixBytes / 1e6:F1} MB of matrices ({weights}); state {lm.StateLength * 4L / 1e6:F2} MB per session; read bandwidth {bw / 1e9:F0} GB/s; graphs {(noGraphs ? "off" : "on")}"));
        Console.WriteLine("batch | GPU ms/step | wall ms/step | tokens/s | weight floor ms | +state floor ms | % of floor | kernels/step");
        foreach (int b in sizes)
        {
            var r = CudaBenchmark.Run(lm, b, steps, bw);
            double floor = r.WeightFloorMs + r.StateFloorMs;
            Console.WriteLine(string.Create(Inv,
                $"{r.Batch,5} | {r.GpuMsPerStep,11:F3} | {r.WallMsPerStep,12:F3} | {r.TokensPerSecond,8:F0} | {r.WeightFloorMs,15:F3} | {floor,15:F3} | {floor / r.GpuMsPerStep * 100,9:F0}% | {r.KernelsPerStep}"));
        }
        if (profile)
        {
            foreach (int b in sizes)
            {
                var kernels = CudaBenchmark.Profile(lm, b);
                Console.WriteLine(string.Create(Inv, $"profile batch {b}: {kernels.Sum(k => k.MsPerStep):F3} ms in kernels (launched one by one)"));
                foreach (var (name, ms, launches) in kernels.Take(12))
                    Console.WriteLine(string.Create(Inv, $"  {name,-22} {ms,8:F3} ms  {launches,4} launches"));
            }
        }
        if (cpuSteps > 0)
        {
            using var cpu = (ILanguageModel)ModelLoader.Load(path, new ModelOptions { Threads = threads });
            var state = new float[cpu.StateLength];
            var logits = new float[cpu.LogitsLength];
            using var scratch = cpu.CreateScratch();
            cpu.InitState(state);
            cpu.Step(1, state, logits, scratch);
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < cpuSteps; i++) cpu.Step(1 + i, state, logits, scratch);
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds / cpuSteps;
            Console.WriteLine(string.Create(Inv, $"cpu   | batch 1, {Environment.ProcessorCount} cores: {ms:F2} ms/step, {1000 / ms:F1} tokens/s"));
        }
        return ExitCodes.Ok;
    });

    private static CudaModelOptions Options(string weights, bool graphs) => new()
    {
        WeightType = weights == "f16" ? CudaWeightType.F16 : CudaWeightType.AsStored,
        UseGraphs = graphs,
    };

    private static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex) when (ex is CudaUnavailableException or CudaException or ModelLoadException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return VerifyCommand.Fail(false, ex.Message, ExitCodes.Usage);
        }
    }
}
