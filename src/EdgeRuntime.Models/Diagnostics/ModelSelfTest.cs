using System.Globalization;
using System.Text;
using EdgeRuntime.Models.Formats.Gguf;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Synthesis;
using EdgeRuntime.Models.Verification;

namespace EdgeRuntime.Models.Diagnostics;

/// <summary>One end-to-end check of a built-in model (<see cref="ModelSelfTest"/>).</summary>
/// <param name="Model">Preset, e.g. <c>based-micro</c>.</param>
/// <param name="Type">Weight type: <c>f32</c> (safetensors) or <c>q8_0</c> (GGUF).</param>
/// <param name="Check">The verifier's check name, e.g. <c>prefill-all</c> or <c>split-1</c>.</param>
/// <param name="MaxRelError">max |actual − reference| / max |reference|.</param>
/// <param name="RelRms">Relative RMS error.</param>
/// <param name="Bound">The budget's primary bound.</param>
/// <param name="Pass">Within every bound of the budget, all outputs finite.</param>
/// <param name="Detail">Why it failed, or null.</param>
public sealed record ModelCheck(string Model, string Type, string Check, double MaxRelError, double RelRms, double Bound, bool Pass, string? Detail)
{
    /// <summary>One report line: <c>model based-micro q8_0 prefill-all   maxRel …  relRms …  bound …  pass</c>.</summary>
    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"model {Model + " " + Type + " " + Check,-44} maxRel {MaxRelError,9:E2}  relRms {RelRms,9:E2}  bound {Bound,9:E2}  {(Pass ? "pass" : "FAIL")}{(Detail is null ? "" : "  " + Detail)}");
}

/// <summary>The result of <see cref="ModelSelfTest.Run"/>.</summary>
/// <param name="Checks">Every check, in order.</param>
/// <remarks>Immutable; safe to share.</remarks>
public sealed record ModelSelfTestReport(IReadOnlyList<ModelCheck> Checks)
{
    /// <summary>Every check passed.</summary>
    public bool Pass => Checks.Count > 0 && Checks.All(c => c.Pass);

    /// <summary>One line per check, then <c>PASS</c> or <c>FAIL</c>.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        foreach (var c in Checks) sb.AppendLine(c.Format());
        sb.AppendLine(Pass ? $"PASS ({Checks.Count} model checks)" : $"FAIL ({Checks.Count(c => !c.Pass)} of {Checks.Count} model checks)");
        return sb.ToString();
    }
}

/// <summary>End-to-end check of one small built-in model per family (the model half of <c>edge-runtime selftest</c>):
/// BASED (short convolution, Taylor linear attention, sliding window), TransNormerLLM (decay, LRPE, gates) and Aaren.</summary>
/// <remarks>
/// For each <c>*-micro</c> preset of <see cref="SyntheticPresets"/>: writes the seeded checkpoint to a temporary
/// directory (safetensors writer and reader), runs it one token at a time on a single thread — the recurrent form — and
/// stores those outputs as a golden file; then loads it again on every core with a 16-token prefill block and verifies
/// with <see cref="GoldenVerifier"/> that the chunked parallel form (one call, splits, chunks crossing block boundaries)
/// reproduces the recurrence within the f32 budget of 1e-4; then converts it to a Q8_0 GGUF file and verifies that within
/// the documented q8_0 budget. The two forms are different algorithms (intra/inter-block prefill against the running
/// state), so agreement checks the kernels, the threading and the file formats end to end on this CPU. Truth against the
/// mechanisms' reference code is <c>edgefw verify</c> on the shared goldens. Allocates freely; deletes its directory.
/// </remarks>
public static class ModelSelfTest
{
    /// <summary>Presets checked, one per family.</summary>
    public static IReadOnlyList<string> Presets { get; } = ["based-micro", "transnormer-micro", "aaren-micro"];

    private const int Steps = 48, PromptLength = 20, PrefillBlock = 16;

    /// <summary>Runs every check.</summary>
    /// <param name="threads">Workers of the verified models (0 = one per core).</param>
    /// <param name="seed">Seed of the weights and inputs.</param>
    /// <param name="progress">Receives the name of each phase.</param>
    public static ModelSelfTestReport Run(int threads = 0, ulong seed = 7, IProgress<string>? progress = null)
    {
        string root = Path.Combine(Path.GetTempPath(), $"edge-runtime-selftest-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var checks = new List<ModelCheck>();
        try
        {
            foreach (string name in Presets)
            {
                var preset = SyntheticPresets.Find(name) ?? throw new InvalidOperationException($"selftest: preset '{name}' is missing");
                string dir = Path.Combine(root, name);
                progress?.Report($"{name}: write");
                SyntheticCheckpoint.Write(preset, dir, preset.LayerCount, seed);
                string golden = Path.Combine(dir, "golden.safetensors");
                progress?.Report($"{name}: recurrence");
                WriteRecurrentGolden(dir, golden, preset.Family, seed);

                var options = new ModelOptions { Threads = threads, PrefillBlock = PrefillBlock };
                progress?.Report($"{name}: f32");
                using (var model = ModelLoader.Load(dir, options))
                    Add(checks, name, "f32", GoldenVerifier.Verify(model, golden));

                progress?.Report($"{name}: q8_0");
                string gguf = Path.Combine(root, name + "-q8_0.gguf");
                GgufConverter.Convert(dir, gguf, GgufFileType.MostlyQ8_0);
                using (var model = ModelLoader.Load(gguf, options))
                    Add(checks, name, "q8_0", GoldenVerifier.Verify(model, golden, ErrorBudgets.For("q8_0", preset.Family)));
            }
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return new ModelSelfTestReport(checks);
    }

    private static void Add(List<ModelCheck> checks, string model, string type, VerifyReport report)
    {
        foreach (var c in report.Checks)
            checks.Add(new ModelCheck(model, type, c.Name, c.MaxRelError, c.RelRms, c.Tolerance, c.Pass, c.Detail));
    }

    /// <summary>Feeds seeded inputs one step at a time on one thread and writes them with the outputs as a golden file.</summary>
    private static void WriteRecurrentGolden(string checkpoint, string goldenPath, string family, ulong seed)
    {
        var rng = new Random(unchecked((int)seed));
        var writer = new SafetensorsWriter();
        writer.Metadata("family", family);
        using var model = ModelLoader.Load(checkpoint, new ModelOptions { Threads = 1 });
        var state = new float[model.StateLength];
        using var scratch = model.CreateScratch();
        model.InitState(state);
        switch (model)
        {
            case ILanguageModel lm:
            {
                var tokens = new int[Steps];
                for (int i = 0; i < Steps; i++) tokens[i] = rng.Next(lm.VocabSize);
                int v = lm.LogitsLength;
                var logits = new float[Steps * v];
                for (int i = 0; i < Steps; i++) lm.Step(tokens[i], state, logits.AsSpan(i * v, v), scratch);
                writer.Add("tokens", tokens, Steps);
                writer.Add("logits", logits, Steps, v);
                writer.Metadata("prompt_len", PromptLength.ToString(CultureInfo.InvariantCulture));
                break;
            }
            case ISequenceModel sm:
            {
                int din = sm.InputLength, dout = sm.OutputLength;
                var inputs = new float[Steps * din];
                for (int i = 0; i < inputs.Length; i++) inputs[i] = (float)(rng.NextDouble() * 4 - 2);
                var outputs = new float[Steps * dout];
                for (int i = 0; i < Steps; i++) sm.Step(inputs.AsSpan(i * din, din), state, outputs.AsSpan(i * dout, dout), scratch);
                writer.Add("inputs", inputs, Steps, din);
                writer.Add("outputs", outputs, Steps, dout);
                break;
            }
            default:
                throw new InvalidOperationException($"selftest: model type {model.GetType().Name} is not supported");
        }
        writer.Save(goldenPath);
    }
}
