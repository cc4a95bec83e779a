using EdgeRuntime.Cuda;
using EdgeRuntime.Cuda.Interop;
using EdgeRuntime.Cuda.Runtime;
using System.CommandLine;
using System.Globalization;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Generation;
using EdgeRuntime.Models.Sampling;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Tokenizers;

namespace EdgeRuntime.Service.Commands;

/// <summary><c>edge-runtime generate</c>: load a checkpoint and its tokenizer, stream generated text to stdout.</summary>
/// <remarks>
/// Text goes to stdout as it is generated (flushed per piece); the finish reason, seed, usage and timings go to
/// stderr. Exit codes: 0 finished (stop or length), 1 failure or cancelled (Ctrl+C), 2 usage or unusable input.
/// Stateless; each invocation loads its own model.
/// </remarks>
public static class GenerateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint directory (config.json + *.safetensors) or .gguf file (path)", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer directory or .gguf file (path; default: the model, whose .gguf carries its tokenizer)" };
        var prompt = new Option<string>("--prompt") { Description = "Prompt text (string)", Required = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens to generate (int >= 0)", DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature (float >= 0, 0 = greedy)", DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int>("--top-k") { Description = "Keep the k most likely tokens (int >= 0, 0 = off)", DefaultValueFactory = _ => 40 };
        var topP = new Option<float>("--top-p") { Description = "Nucleus probability (float in (0, 1], 1 = off)", DefaultValueFactory = _ => 0.95f };
        var minP = new Option<float>("--min-p") { Description = "Minimum probability relative to the top token (float in [0, 1], 0 = off)", DefaultValueFactory = _ => 0.05f };
        var repeatPenalty = new Option<float>("--repeat-penalty") { Description = "Hugging Face repetition penalty (float > 0, 1 = off)", DefaultValueFactory = _ => 1f };
        var repeatLastN = new Option<int>("--repeat-last-n") { Description = "Penalise only the last N tokens (int >= 0, 0 = all)", DefaultValueFactory = _ => 64 };
        var seed = new Option<ulong?>("--seed") { Description = "Sampler seed (unsigned 64-bit int; default: random, printed to stderr)" };
        var stop = new Option<string[]>("--stop") { Description = "Stop string, not printed (string; repeatable)", DefaultValueFactory = _ => [] };
        var threads = new Option<int>("--threads") { Description = "Worker threads (int >= 0, 0 = one per core)", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device")
        {
            Description = "Where the model runs: cpu (default) | cuda (NVIDIA GPU; exit 2 without one) | auto (cuda if found, else cpu with one line on stderr)",
            DefaultValueFactory = _ => "cpu",
        };
        device.AcceptOnlyFromAmong("cpu", "cuda", "auto");

        var command = new Command("generate", "Generate text from a prompt and stream it to stdout")
        {
            model, tokenizer, prompt, maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, stop, threads, device,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            ulong seedValue = parseResult.GetValue(seed) ?? (ulong)Random.Shared.NextInt64(long.MaxValue);
            var options = new GeneratorOptions
            {
                MaxTokens = parseResult.GetValue(maxTokens),
                StopStrings = parseResult.GetValue(stop) ?? [],
                Sampling = new SamplerOptions
                {
                    Temperature = parseResult.GetValue(temperature),
                    TopK = parseResult.GetValue(topK),
                    TopP = parseResult.GetValue(topP),
                    MinP = parseResult.GetValue(minP),
                    RepetitionPenalty = parseResult.GetValue(repeatPenalty),
                    RepeatLastN = parseResult.GetValue(repeatLastN),
                    Seed = seedValue,
                },
            };
            if (!options.TryValidate(out string? problem))
            {
                error.WriteLine($"generate: {problem}");
                return Task.FromResult(2);
            }
            int threadCount = parseResult.GetValue(threads);
            if (threadCount < 0)
            {
                error.WriteLine($"generate: --threads is {threadCount}, expected >= 0");
                return Task.FromResult(2);
            }
            string modelDir = parseResult.GetValue(model)!;
            if (!DeviceSelection.TryParse(parseResult.GetValue(device), out var compute))
            {
                error.WriteLine($"generate: --device expected {DeviceSelection.Values}");
                return Task.FromResult(2);
            }
            var request = new Request(modelDir, parseResult.GetValue(tokenizer) ?? modelDir, parseResult.GetValue(prompt)!, threadCount, compute, options);
            return Task.FromResult(Run(request, parseResult.InvocationConfiguration.Output, error, cancellationToken));
        });
        return command;
    }

    private sealed record Request(string ModelDirectory, string TokenizerDirectory, string Prompt, int Threads, ComputeDevice Device, GeneratorOptions Options);

    private static int Run(Request request, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        IModel? loaded = null;
        try
        {
            loaded = DeviceSelection.Load(request.ModelDirectory, new ModelOptions { Threads = request.Threads }, request.Device, error.WriteLine);
            if (loaded is not ILanguageModel languageModel)
            {
                error.WriteLine($"generate: the model in '{request.ModelDirectory}' is a '{loaded.Info.Family}' sequence model; generate needs a language model");
                return 2;
            }
            var textTokenizer = TokenizerLoader.Load(request.TokenizerDirectory);
            using var session = new InferenceSession(languageModel);
            var generator = new Generator(session, textTokenizer, request.Options, cancellationToken);
            generator.AppendPrompt(request.Prompt);
            while (generator.TryNextToken(out _, out string text))
            {
                if (text.Length == 0) continue;
                output.Write(text);
                output.Flush();
            }
            output.WriteLine();
            output.Flush();
            Report(generator, request.Options.Sampling.Seed, error);
            return generator.FinishReason is FinishReason.Stop or FinishReason.Length ? 0 : 1;
        }
        catch (FileNotFoundException ex)
        {
            error.WriteLine($"generate: {ex.Message}");
            return 2;
        }
        catch (CudaUnavailableException ex)
        {
            error.WriteLine($"generate: {ex.Message}");
            return 2;
        }
        catch (ArgumentOutOfRangeException ex)
        {
            // A prompt id outside the model's vocabulary: tokenizer and model do not belong together.
            error.WriteLine($"generate: {ex.Message}");
            return 2;
        }
        catch (Exception ex) when (ex is ModelLoadException or IOException or NotImplementedException or InvalidOperationException or CudaException)
        {
            error.WriteLine($"generate: {ex.Message}");
            return 1;
        }
        finally
        {
            loaded?.Dispose();
        }
    }

    private static void Report(Generator generator, ulong seed, TextWriter error)
    {
        var usage = generator.Usage;
        var timings = generator.Timings;
        string finish = generator.FinishReason?.ToString().ToLowerInvariant() ?? "unknown";
        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"finish: {finish}; seed: {seed}; tokens: {usage.PromptTokens} prompt + {usage.CompletionTokens} generated"));
        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"prompt: {timings.PromptTokens} tokens in {timings.PromptMs:F1} ms ({timings.PromptTokensPerSecond:F1} tok/s)"));
        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"decode: {timings.DecodeTokens} tokens in {timings.DecodeMs:F1} ms ({timings.DecodeTokensPerSecond:F1} tok/s)"));
    }
}
