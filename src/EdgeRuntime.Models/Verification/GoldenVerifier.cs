using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Models.Verification;

/// <summary>One comparison of runtime outputs against a golden file.</summary>
/// <param name="Name">Check name, e.g. <c>prefill-all</c>.</param>
/// <param name="MaxRelError">max |runtime − golden| / max |golden| over the compared values (NaN if any output was not finite).</param>
/// <param name="RelRms">RMS of the error over RMS of the golden.</param>
/// <param name="Top1Agreement">Share of positions whose argmax (over the real vocabulary or output) matches.</param>
/// <param name="Tolerance">The budget's primary bound: on <paramref name="MaxRelError"/> for the exact (f32) budget, on
/// <paramref name="RelRms"/> for a lossy one (<see cref="ErrorBudget.PrimaryBound"/>).</param>
/// <param name="Pass">Within the budget (and, for generation checks under the exact budget, every token equal).</param>
/// <param name="Detail">What failed, or extra facts (token counts).</param>
public sealed record VerifyCheck(string Name, double MaxRelError, double RelRms, double Top1Agreement, double Tolerance, bool Pass, string? Detail = null);

/// <summary>All checks of one model against one golden file.</summary>
/// <param name="Model">Model location.</param>
/// <param name="Golden">Golden file path.</param>
/// <param name="Pass">Every check passed.</param>
/// <param name="Checks">The checks in the order run.</param>
/// <param name="Budget">The error budget the checks were held to.</param>
public sealed record VerifyReport(string Model, string Golden, bool Pass, IReadOnlyList<VerifyCheck> Checks, ErrorBudget Budget);

/// <summary>The golden file cannot be used with this model (missing tensors, wrong shapes, tokens out of range).</summary>
public sealed class GoldenMismatchException : ModelLoadException
{
    /// <summary>Creates the exception.</summary>
    public GoldenMismatchException(string message) : base(message) { }
}

/// <summary>
/// Runs every check of <c>shared/golden/README.md</c> "What matches means": whole prefill, one token at a time, splits at
/// the prompt length, at 1 and inside a 256-token block, several consecutive prefill calls, greedy and penalised greedy
/// generation; for sequence models, streamed, parallel and split. Used by <c>edgefw verify</c> and by the tests.
/// </summary>
/// <remarks>Stateless; each call creates its own sessions, so it may run on any thread with a shared model.</remarks>
public static class GoldenVerifier
{
    /// <summary>The float32 tolerance of the goldens' README.</summary>
    public const double DefaultTolerance = 1e-4;

    /// <summary>Verifies <paramref name="model"/> against <paramref name="goldenPath"/> with the exact f32 budget.</summary>
    /// <param name="model">A loaded language or sequence model.</param>
    /// <param name="goldenPath">A golden.safetensors file.</param>
    /// <param name="tolerance">Bound on max relative error per check.</param>
    /// <param name="progress">Receives the name of each check as it starts.</param>
    /// <exception cref="GoldenMismatchException">The golden does not fit the model.</exception>
    /// <exception cref="ModelFormatException">The golden file is malformed.</exception>
    public static VerifyReport Verify(IModel model, string goldenPath, double tolerance = DefaultTolerance, IProgress<string>? progress = null) =>
        Verify(model, goldenPath, ErrorBudgets.F32(tolerance), progress);

    /// <summary>Verifies <paramref name="model"/> against <paramref name="goldenPath"/> within <paramref name="budget"/>
    /// (<see cref="ErrorBudgets.For"/>: exact for f32, the measured relRms/top-1 bounds for f16, q8_0 and q4_0).</summary>
    /// <param name="model">A loaded language or sequence model.</param>
    /// <param name="goldenPath">A golden.safetensors file.</param>
    /// <param name="budget">The bounds every check must meet.</param>
    /// <param name="progress">Receives the name of each check as it starts.</param>
    /// <exception cref="GoldenMismatchException">The golden does not fit the model.</exception>
    /// <exception cref="ModelFormatException">The golden file is malformed.</exception>
    public static VerifyReport Verify(IModel model, string goldenPath, ErrorBudget budget, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(budget);
        using var golden = new SafetensorsFile(goldenPath);
        var checks = model switch
        {
            ILanguageModel lm => VerifyLanguageModel(lm, golden, budget, progress),
            ISequenceModel sm => VerifySequenceModel(sm, golden, budget, progress),
            _ => throw new GoldenMismatchException($"verify: model type {model.GetType().Name} is not supported"),
        };
        return new VerifyReport(model.Info.Location, golden.Path, checks.All(c => c.Pass), checks, budget);
    }

    private static List<VerifyCheck> VerifyLanguageModel(ILanguageModel model, SafetensorsFile golden, ErrorBudget budget, IProgress<string>? progress)
    {
        CheckFamily(model, golden);
        int[] tokens = golden.ReadI32("tokens");
        float[] logits = golden.ReadF32("logits");
        int t = tokens.Length, v = model.LogitsLength;
        if (t == 0) throw new GoldenMismatchException($"verify: golden '{golden.Path}' has no tokens");
        if (golden.Get("logits").Shape is not [var lt, var lv] || lt != t || lv != v)
            throw new GoldenMismatchException(
                $"verify: golden tensor 'logits' has shape {golden.Get("logits").ShapeText}, expected [{t}, {v}] (tokens × the model's logits length) in '{golden.Path}'");
        foreach (int tok in tokens)
            if ((uint)tok >= (uint)model.VocabSize && (uint)tok >= (uint)v)
                throw new GoldenMismatchException($"verify: golden token {tok} is outside the model's vocabulary ({model.VocabSize}) in '{golden.Path}'");
        int promptLength = golden.Metadata.TryGetValue("prompt_len", out var pl) && int.TryParse(pl, out int p) && p > 0 && p <= t ? p : t / 2;
        int inBlock = t > 300 ? 300 : Math.Max(1, t / 2 + 1);
        if (inBlock == promptLength) inBlock = Math.Max(1, inBlock - 3);

        var checks = new List<VerifyCheck>();
        using var run = new LmRun(model);
        progress?.Report("prefill-all");
        run.Reset();
        run.Model.Prefill(tokens, run.State, run.AllLogits(t), run.Scratch);
        checks.Add(Compare("prefill-all", run.AllLogits(t), logits, t, v, model.VocabSize, budget));

        progress?.Report("step-all");
        checks.Add(Compare("step-all", run.Split(tokens, 0), logits, t, v, model.VocabSize, budget));
        progress?.Report($"split-{promptLength}");
        checks.Add(Compare($"split-prompt-{promptLength}", run.Split(tokens, promptLength), logits, t, v, model.VocabSize, budget));
        progress?.Report("split-1");
        checks.Add(Compare("split-1", run.Split(tokens, 1), logits, t, v, model.VocabSize, budget));
        progress?.Report($"split-{inBlock}");
        checks.Add(Compare($"split-in-block-{inBlock}", run.Split(tokens, inBlock), logits, t, v, model.VocabSize, budget));
        progress?.Report("prefill-chunks-37");
        checks.Add(Compare("prefill-chunks-37", run.Chunks(tokens, 37), logits, t, v, model.VocabSize, budget));

        var prompt = tokens.AsSpan(0, promptLength).ToArray();
        if (golden.Tensors.ContainsKey("gen_tokens"))
        {
            progress?.Report("greedy");
            checks.Add(Generate("greedy", run, prompt, golden.ReadI32("gen_tokens"), golden.ReadF32("gen_logits"), 1.0f, budget));
        }
        if (golden.Tensors.ContainsKey("penalized_gen_tokens"))
        {
            float penalty = golden.Metadata.TryGetValue("repetition_penalty", out var rp) && float.TryParse(rp, System.Globalization.CultureInfo.InvariantCulture, out float f) ? f : 1.5f;
            progress?.Report("greedy-penalized");
            checks.Add(Generate($"greedy-penalty-{penalty.ToString(System.Globalization.CultureInfo.InvariantCulture)}", run, prompt,
                golden.ReadI32("penalized_gen_tokens"), golden.ReadF32("penalized_gen_logits"), penalty, budget));
        }
        return checks;
    }

    private static VerifyCheck Generate(string name, LmRun run, int[] prompt, int[] expectedTokens, float[] expectedLogits, float penalty, ErrorBudget budget)
    {
        var model = run.Model;
        int g = expectedTokens.Length, v = model.LogitsLength;
        if (expectedLogits.Length != g * v)
            throw new GoldenMismatchException($"verify: golden generation logits hold {expectedLogits.Length} values, expected {g} × {v}");
        var actual = new float[g * v];
        var history = new List<int>(prompt);
        var logits = new float[v];
        run.Reset();
        model.Prefill(prompt, run.State, logits, run.Scratch);
        int firstMismatch = -1, firstChosen = -1;
        for (int i = 0; i < g; i++)
        {
            logits.CopyTo(actual.AsSpan(i * v));
            if (penalty != 1.0f) ApplyRepetitionPenalty(logits, history, penalty);
            int chosen = ArgMax(logits.AsSpan(0, model.VocabSize));
            if (chosen != expectedTokens[i] && firstMismatch < 0) (firstMismatch, firstChosen) = (i, chosen);
            // Teacher-force the golden token so later logits stay comparable even after a divergence.
            int next = expectedTokens[i];
            history.Add(next);
            if (i + 1 < g) model.Step(next, run.State, logits, run.Scratch);
        }
        var c = Compare(name, actual, expectedLogits, g, v, model.VocabSize, budget);
        bool tokensEqual = firstMismatch < 0;
        string tokens = tokensEqual ? $"{g} tokens equal"
            : $"{(budget.RequireEqualTokens ? "" : "first divergence: ")}token {firstMismatch} differs: expected {expectedTokens[firstMismatch]}, got {firstChosen}";
        // Lossy budgets bound the logits; the greedy path may then leave the golden's, which is reported, not failed.
        return c with
        {
            Pass = c.Pass && (tokensEqual || !budget.RequireEqualTokens),
            Detail = c.Detail is null ? tokens : $"{c.Detail}; {tokens}",
        };
    }

    /// <summary>Hugging Face repetition penalty: each distinct earlier token's logit is divided by p if positive, else multiplied.</summary>
    public static void ApplyRepetitionPenalty(Span<float> logits, IEnumerable<int> earlier, float penalty)
    {
        foreach (int tok in earlier.Distinct())
        {
            if ((uint)tok >= (uint)logits.Length) continue;
            logits[tok] = logits[tok] > 0 ? logits[tok] / penalty : logits[tok] * penalty;
        }
    }

    private static List<VerifyCheck> VerifySequenceModel(ISequenceModel model, SafetensorsFile golden, ErrorBudget budget, IProgress<string>? progress)
    {
        CheckFamily(model, golden);
        float[] inputs = golden.ReadF32("inputs");
        float[] outputs = golden.ReadF32("outputs");
        int din = model.InputLength, dout = model.OutputLength;
        if (golden.Get("inputs").Shape is not [var t, var gi] || gi != din)
            throw new GoldenMismatchException($"verify: golden tensor 'inputs' has shape {golden.Get("inputs").ShapeText}, expected [T, {din}] in '{golden.Path}'");
        if (golden.Get("outputs").Shape is not [var to, var go] || to != t || go != dout)
            throw new GoldenMismatchException($"verify: golden tensor 'outputs' has shape {golden.Get("outputs").ShapeText}, expected [{t}, {dout}] in '{golden.Path}'");
        int steps = (int)t;
        var state = new float[model.StateLength];
        using var scratch = model.CreateScratch();
        var actual = new float[steps * dout];
        var checks = new List<VerifyCheck>();

        void Run(int[] prefillSizes)
        {
            model.InitState(state);
            int pos = 0;
            foreach (int n in prefillSizes)
            {
                int m = Math.Min(n, steps - pos);
                model.Prefill(inputs.AsSpan(pos * din, m * din), state, actual.AsSpan(pos * dout, m * dout), scratch);
                pos += m;
            }
            for (; pos < steps; pos++)
                model.Step(inputs.AsSpan(pos * din, din), state, actual.AsSpan(pos * dout, dout), scratch);
        }

        progress?.Report("stream");
        Run([]);
        checks.Add(Compare("stream", actual, outputs, steps, dout, dout, budget));
        progress?.Report("parallel");
        Run([steps]);
        checks.Add(Compare("parallel", actual, outputs, steps, dout, dout, budget));
        progress?.Report("split");
        Run([steps / 2]);
        checks.Add(Compare($"split-{steps / 2}", actual, outputs, steps, dout, dout, budget));
        progress?.Report("prefill-chunks-37");
        Run(Enumerable.Repeat(37, (steps + 36) / 37).ToArray());
        checks.Add(Compare("prefill-chunks-37", actual, outputs, steps, dout, dout, budget));
        return checks;
    }

    private static void CheckFamily(IModel model, SafetensorsFile golden)
    {
        if (golden.Metadata.TryGetValue("family", out var family) && family != model.Info.Family)
            throw new GoldenMismatchException($"verify: golden '{golden.Path}' is for family '{family}', the model is '{model.Info.Family}'");
    }

    /// <summary>Compares <paramref name="rows"/> × <paramref name="cols"/> values by max relative error, relative RMS and
    /// top-1 agreement; passes when max relative error ≤ <paramref name="tol"/> (the exact f32 budget).</summary>
    public static VerifyCheck Compare(string name, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, int rows, int cols, int argmaxCols, double tol) =>
        Compare(name, actual, expected, rows, cols, argmaxCols, ErrorBudgets.F32(tol));

    /// <summary>Compares <paramref name="rows"/> × <paramref name="cols"/> values by max relative error, relative RMS and
    /// top-1 agreement (argmax over the first <paramref name="argmaxCols"/> of each row); passes when every bound of
    /// <paramref name="budget"/> holds and every output is finite.</summary>
    public static VerifyCheck Compare(string name, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, int rows, int cols, int argmaxCols, ErrorBudget budget)
    {
        double maxAbsErr = 0, maxAbsGold = 0, sumErr2 = 0, sumGold2 = 0;
        bool finite = true;
        int agree = 0, worstRow = -1, worstCol = -1;
        for (int r = 0; r < rows; r++)
        {
            var a = actual.Slice(r * cols, cols);
            var e = expected.Slice(r * cols, cols);
            for (int c = 0; c < cols; c++)
            {
                if (!float.IsFinite(a[c])) finite = false;
                double err = Math.Abs((double)a[c] - e[c]);
                if (err > maxAbsErr) { maxAbsErr = err; worstRow = r; worstCol = c; }
                maxAbsGold = Math.Max(maxAbsGold, Math.Abs((double)e[c]));
                sumErr2 += err * err;
                sumGold2 += (double)e[c] * e[c];
            }
            if (ArgMax(a[..argmaxCols]) == ArgMax(e[..argmaxCols])) agree++;
        }
        double maxRel = finite ? maxAbsErr / Math.Max(maxAbsGold, double.Epsilon) : double.NaN;
        double relRms = finite ? Math.Sqrt(sumErr2 / Math.Max(sumGold2, double.Epsilon)) : double.NaN;
        double top1 = rows == 0 ? 1 : (double)agree / rows;
        var failed = new List<string>(3);
        if (budget.MaxRelError is double m && !(maxRel <= m)) failed.Add($"maxRel {maxRel:E2} > {m:G3}");
        if (budget.RelRms is double b && !(relRms <= b)) failed.Add($"relRms {relRms:E2} > {b:G3}");
        if (budget.Top1Agreement is double t && !(top1 >= t)) failed.Add($"top-1 {top1:F3} < {t:G3}");
        bool pass = finite && failed.Count == 0;
        string? detail = !finite ? "non-finite output"
            : pass ? null
            : $"{string.Join(", ", failed)}; worst at row {worstRow}, column {worstCol}: expected {expected[worstRow * cols + worstCol]}, got {actual[worstRow * cols + worstCol]}";
        return new VerifyCheck(name, maxRel, relRms, top1, budget.PrimaryBound, pass, detail);
    }

    private static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /// <summary>A session's buffers reused across checks.</summary>
    private sealed class LmRun : IDisposable
    {
        private float[] _all = [];

        public LmRun(ILanguageModel model)
        {
            Model = model;
            State = new float[model.StateLength];
            Scratch = model.CreateScratch();
        }

        public ILanguageModel Model { get; }
        public float[] State { get; }
        public ModelScratch Scratch { get; }

        public void Reset() => Model.InitState(State);

        public float[] AllLogits(int t)
        {
            if (_all.Length != t * Model.LogitsLength) _all = new float[t * Model.LogitsLength];
            return _all;
        }

        /// <summary>Prefill the first <paramref name="split"/> tokens (all logits), then one Step per token.</summary>
        public float[] Split(int[] tokens, int split)
        {
            int v = Model.LogitsLength;
            var all = AllLogits(tokens.Length);
            Reset();
            if (split > 0) Model.Prefill(tokens.AsSpan(0, split), State, all.AsSpan(0, split * v), Scratch);
            for (int i = split; i < tokens.Length; i++) Model.Step(tokens[i], State, all.AsSpan(i * v, v), Scratch);
            return all;
        }

        /// <summary>Consecutive Prefill calls of <paramref name="chunk"/> tokens.</summary>
        public float[] Chunks(int[] tokens, int chunk)
        {
            int v = Model.LogitsLength;
            var all = AllLogits(tokens.Length);
            Reset();
            for (int i = 0; i < tokens.Length; i += chunk)
            {
                int n = Math.Min(chunk, tokens.Length - i);
                Model.Prefill(tokens.AsSpan(i, n), State, all.AsSpan(i * v, n * v), Scratch);
            }
            return all;
        }

        public void Dispose() => Scratch.Dispose();
    }
}
