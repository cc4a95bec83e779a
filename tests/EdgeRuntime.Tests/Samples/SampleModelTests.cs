using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Generation;
using EdgeRuntime.Models.Sampling;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Tokenizers;
using EdgeRuntime.Models.Verification;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Samples;

/// <summary>The trained sample models shipped in samples/models (cards: samples/models/*.md; training:
/// firmware-tools/training). Expected values come from the goldens the training script computed in float64, from the
/// shipped held-out sensor data, and from the training text's vocabulary; never from the runtime itself.</summary>
public sealed partial class SampleModelTests(ITestOutputHelper output)
{
    private const string LmFile = "based-moby-q8_0.gguf";
    private const string LmGolden = "based-moby.golden.safetensors";
    private const string ForecasterFile = "aaren-motes.gguf";
    private const string ForecasterGolden = "aaren-motes.golden.safetensors";

    /// <summary>The text whose first 48 tokens (training tokenizer, Hugging Face tokenizers) are the LM golden's tokens.</summary>
    private const string IshmaelText =
        "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, " +
        "and nothing particular to interest me on shore, I thought I would sail about a little and see the " +
        "watery part of the world.";

    // The Q8_0 error budget for BASED (docs/formats.md "Error budgets"): relRms <= 0.05, top-1 >= 0.92; greedy tokens may diverge.
    private const double Q8RelRms = 0.05, Q8Top1 = 0.92;

    private static readonly Lazy<string> s_models = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "samples", "models");
            if (File.Exists(Path.Combine(candidate, LmFile))) return candidate;
        }
        throw new DirectoryNotFoundException($"samples/models/{LmFile} not found above {AppContext.BaseDirectory}");
    });

    private static string Sample(string name) => Path.Combine(s_models.Value, name);

    [Fact]
    public void LanguageModelQ8_0_StaysWithinBudget_When_VerifiedAgainstShippedGolden()
    {
        using var model = ModelLoader.Load(Sample(LmFile), new ModelOptions { Threads = 2 });
        var report = GoldenVerifier.Verify(model, Sample(LmGolden), tolerance: 1.0);
        Assert.Equal(8, report.Checks.Count);
        foreach (var c in report.Checks)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{c.Name}: maxRel {c.MaxRelError:E2}, relRms {c.RelRms:E2}, top-1 {c.Top1Agreement:P1} {c.Detail}"));
            Assert.True(c.RelRms <= Q8RelRms, $"{c.Name}: relRms {c.RelRms:E3} above the Q8_0 budget {Q8RelRms}");
            // Greedy checks have 16 rows and one near tie (top-2 gap 0.018); their tokens may diverge under Q8_0.
            if (!c.Name.StartsWith("greedy", StringComparison.Ordinal))
                Assert.True(c.Top1Agreement >= Q8Top1, $"{c.Name}: top-1 agreement {c.Top1Agreement:P1} below the Q8_0 budget {Q8Top1:P0}");
        }
    }

    [Fact]
    public void Forecaster_ReproducesGolden_When_F32GgufRunsStreamedAndParallel()
    {
        using var model = ModelLoader.Load(Sample(ForecasterFile), new ModelOptions { Threads = 2 });
        var report = GoldenVerifier.Verify(model, Sample(ForecasterGolden));
        foreach (var c in report.Checks)
            Assert.True(c.Pass, $"{c.Name}: max relative error {c.MaxRelError:E3} above {c.Tolerance:E1}; {c.Detail}");
        Assert.True(report.Pass);
    }

    [Fact]
    public void GgufTokenizer_EncodesLikeTrainingTokenizer_When_GoldenTextEncoded()
    {
        var tokenizer = TokenizerLoader.FromGguf(Sample(LmFile));
        using var golden = new SafetensorsFile(Sample(LmGolden));
        int[] expected = golden.ReadI32("tokens");
        int promptLength = int.Parse(golden.Metadata["prompt_len"], CultureInfo.InvariantCulture);
        int[] actual = tokenizer.Encode(IshmaelText);
        Assert.True(actual.Length >= expected.Length, $"{actual.Length} tokens, golden has {expected.Length}");
        Assert.Equal(expected, actual[..expected.Length]);
        Assert.Equal(expected[..promptLength], tokenizer.Encode("Call me Ishmael"));
        Assert.Equal(0, tokenizer.EosId);  // <|endoftext|> separated the training documents
    }

    [Fact]
    public void LanguageModel_ContinuesInEnglish_When_PromptedWithCallMeIshmael()
    {
        var tokenizer = TokenizerLoader.FromGguf(Sample(LmFile));
        var (words, frequent) = TrainingWords(tokenizer);
        using var model = (ILanguageModel)ModelLoader.Load(Sample(LmFile), new ModelOptions { Threads = 2 });
        // Two checks per run. (1) Words spelled as one token of the 8192-token vocabulary: weak alone, since random
        // tokens are mostly such words too (about 75% of their words). (2) Frequent words, i.e. whole-word tokens
        // the BPE learned among its first 1024 ids (the, and, of, which, whale...): English text is full of them
        // (this model: about 75% greedy, 55-65% sampled), random tokens are not (under 15%).
        var runs = new (string Name, SamplerOptions Sampling)[]
        {
            ("greedy", SamplerOptions.Greedy),
            ("sampled", new SamplerOptions { Temperature = 0.8f, TopK = 40, TopP = 0.95f, Seed = 7 }),
        };
        foreach (var (name, sampling) in runs)
        {
            using var session = new InferenceSession(model);
            var generator = new Generator(session, tokenizer, new GeneratorOptions { Sampling = sampling, MaxTokens = 64, StopOnEos = false });
            generator.AppendPrompt("Call me Ishmael");
            var text = new StringBuilder();
            while (generator.TryNextToken(out _, out string piece)) text.Append(piece);
            string generated = text.ToString();
            var found = Word().Matches(generated).Select(m => m.Value.ToLowerInvariant()).ToList();
            int known = found.Count(words.Contains), common = found.Count(frequent.Contains);
            output.WriteLine($"{name}: Call me Ishmael{generated}\n  {known}/{found.Count} words in the vocabulary, {common} frequent");
            Assert.True(found.Count >= 20, $"{name}: only {found.Count} words in {generated}");
            Assert.True(known >= 0.7 * found.Count, $"{name}: {known}/{found.Count} words are in the training vocabulary: {generated}");
            Assert.True(common >= 0.35 * found.Count, $"{name}: {common}/{found.Count} words are frequent words of the corpus: {generated}");
        }
    }

    [Fact]
    public void Forecaster_BeatsLastValue_When_ReplayingHeldOutMotes()
    {
        using var config = JsonDocument.Parse(File.ReadAllBytes(Sample("aaren-motes.config.json")));
        var pre = config.RootElement.GetProperty("preprocessing");
        double[] mean = Doubles(pre, "mean"), std = Doubles(pre, "std"), delta = Doubles(pre, "delta");
        double clip = pre.GetProperty("clip_changes").GetDouble();
        var anomaly = config.RootElement.GetProperty("anomaly");
        int window = anomaly.GetProperty("window").GetInt32();
        double threshold = anomaly.GetProperty("threshold").GetDouble();

        using var loaded = ModelLoader.Load(Sample(ForecasterFile), new ModelOptions { Threads = 2 });
        var model = (ISequenceModel)loaded;
        Assert.Equal(5, model.InputLength);
        Assert.Equal(2, model.OutputLength);
        var state = new float[model.StateLength];
        using var scratch = model.CreateScratch();

        var modelError = new double[2];
        var lastError = new double[2];
        long steps = 0;
        int eventsDetected = 0, events = 0;
        foreach (var (mote, indoor, readings, labels) in HeldOutMotes())
        {
            int n = readings.Length;
            var inputs = new float[n * 5];
            for (int t = 0; t < n; t++)
            {
                for (int c = 0; c < 2; c++)
                {
                    double change = t == 0 ? 0 : readings[t][c] - readings[t - 1][c];
                    inputs[t * 5 + c] = (float)((readings[t][c] - mean[c]) / std[c]);
                    inputs[t * 5 + 2 + c] = (float)Math.Clamp(change / delta[c], -clip, clip);
                }
                inputs[t * 5 + 4] = indoor;
            }
            var outputs = new float[n * 2];
            model.InitState(state);
            model.Prefill(inputs, state, outputs, scratch);

            // Forecast of reading t+1 = reading t + output t · delta; anomaly score of t+1 = windowed mean of the error.
            var score = new double[n];
            for (int t = 0; t + 1 < n; t++)
            {
                for (int c = 0; c < 2; c++)
                {
                    double forecast = readings[t][c] + outputs[t * 2 + c] * delta[c];
                    double error = Math.Abs(forecast - readings[t + 1][c]);
                    modelError[c] += error;
                    lastError[c] += Math.Abs(readings[t + 1][c] - readings[t][c]);
                    score[t + 1] += error / delta[c];
                }
                steps++;
            }
            var flagged = new bool[n];
            double sum = 0;
            for (int t = 1; t < n; t++)
            {
                sum += score[t];
                if (t - window >= 1) sum -= score[t - window];
                flagged[t] = sum / Math.Min(window, t) > threshold;
            }
            for (int t = 1; t < n; t++)
            {
                if (labels[t] != 1 || labels[t - 1] == 1) continue;  // start of a labelled event
                events++;
                int end = t;
                while (end < n && labels[end] == 1) end++;
                if (flagged.AsSpan(t, end - t).Contains(true)) eventsDetected++;
            }
            var runs = new List<string>();
            for (int t = 1; t < n; t++)
            {
                if (!flagged[t] || flagged[t - 1]) continue;
                int end = t;
                while (end < n && flagged[end]) end++;
                runs.Add($"[{t}, {end})");
            }
            output.WriteLine($"mote {mote}: {n} readings, labelled [{Array.IndexOf(labels, 1)}, {Array.LastIndexOf(labels, 1) + 1}), flagged {string.Join(" ", runs)}");
        }

        double modelMae = (modelError[0] + modelError[1]) / (2.0 * steps), lastMae = (lastError[0] + lastError[1]) / (2.0 * steps);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{steps} forecasts: MAE humidity {modelError[0] / steps:F5} (last value {lastError[0] / steps:F5}), temperature {modelError[1] / steps:F5} (last value {lastError[1] / steps:F5}); mean {modelMae:F5} vs {lastMae:F5} ({1 - modelMae / lastMae:P2} better); events detected {eventsDetected}/{events}"));
        Assert.True(modelMae < 0.97 * lastMae, $"forecast MAE {modelMae:F5} is not 3% below the last-value MAE {lastMae:F5}");
        Assert.True(modelError[0] < lastError[0], "humidity forecast does not beat last value");
        Assert.Equal(1, events);
        Assert.Equal(1, eventsDetected);
    }

    /// <summary>Lower-case words that are whole tokens of the tokenizer trained on the corpus (e.g. "Ġwhale" → "whale"),
    /// and the frequent ones: space-prefixed whole words among the first 1024 ids (BPE learns frequent pieces first).</summary>
    private static (HashSet<string> Words, HashSet<string> Frequent) TrainingWords(ITextTokenizer tokenizer)
    {
        HashSet<string> words = new(StringComparer.Ordinal), frequent = new(StringComparer.Ordinal);
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            if (tokenizer.IsSpecial(id)) continue;
            string raw = Encoding.UTF8.GetString(tokenizer.TokenBytes(id)), piece = raw.Trim();
            if (piece.Length == 0 || Word().Match(piece) is not { Success: true } m || m.Length != piece.Length) continue;
            words.Add(piece.ToLowerInvariant());
            if (id < 1024 && raw.Length == piece.Length + 1 && raw[0] == ' ') frequent.Add(piece.ToLowerInvariant());
        }
        return (words, frequent);
    }

    private static IEnumerable<(int Mote, float Indoor, double[][] Readings, int[] Labels)> HeldOutMotes()
    {
        var lines = File.ReadAllLines(Sample("aaren-motes-heldout.csv"));
        Assert.Equal("mote_id,indoor,humidity,temperature,label", lines[0]);
        var rows = lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToList();
        foreach (var group in rows.GroupBy(r => int.Parse(r[0], CultureInfo.InvariantCulture)))
        {
            var g = group.ToList();
            double[][] readings = [.. g.Select(r => new[] { double.Parse(r[2], CultureInfo.InvariantCulture), double.Parse(r[3], CultureInfo.InvariantCulture) })];
            int[] labels = [.. g.Select(r => int.Parse(r[4], CultureInfo.InvariantCulture))];
            yield return (group.Key, float.Parse(g[0][1], CultureInfo.InvariantCulture), readings, labels);
        }
    }

    private static double[] Doubles(JsonElement e, string key) => [.. e.GetProperty(key).EnumerateArray().Select(x => x.GetDouble())];

    [GeneratedRegex("[A-Za-z]+")]
    private static partial Regex Word();
}
