using EdgeRuntime.Cuda;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Tokenizers;
using EdgeRuntime.Service.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Hosting;

/// <summary>Loads the configured model once and hands it to whoever waits for it (the workers and the MQTT connection).</summary>
/// <remarks>
/// <see cref="Load"/> runs inside the inference service's <c>ExecuteAsync</c>, so the host starts (and the embedded broker
/// listens) while a large model maps in. With no <c>Model:Path</c> the bundled default is served:
/// <see cref="ModelSourceOptions.DefaultPath"/> relative to the content root. Thread-safe.
/// </remarks>
public sealed partial class ModelHost : IDisposable
{
    private readonly ModelSourceOptions _options;
    private readonly RuntimeOptions _runtime;
    private readonly IHostEnvironment _environment;
    private readonly ILogger<ModelHost> _logger;
    private readonly TaskCompletionSource<LoadedModel> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the host; nothing is loaded yet.</summary>
    public ModelHost(IOptions<ModelSourceOptions> options, IOptions<RuntimeOptions> runtime, IHostEnvironment environment, ILogger<ModelHost> logger)
    {
        _options = options.Value;
        _runtime = runtime.Value;
        _environment = environment;
        _logger = logger;
    }

    /// <summary>Completes with the model once loaded; faults if loading failed.</summary>
    public Task<LoadedModel> Ready => _ready.Task;

    /// <summary>Whether loading has finished, either way.</summary>
    public bool IsSettled => _ready.Task.IsCompleted;

    /// <summary>Whether the model is loaded and usable.</summary>
    public bool IsLoaded => _ready.Task.IsCompletedSuccessfully;

    /// <summary>The model directory or file that will be (or was) loaded.</summary>
    public string ModelPath => string.IsNullOrEmpty(_options.Path)
        ? System.IO.Path.GetFullPath(System.IO.Path.Combine(_environment.ContentRootPath, ModelSourceOptions.DefaultPath))
        : System.IO.Path.GetFullPath(_options.Path, _environment.ContentRootPath);

    /// <summary>Loads model, tokenizer and fingerprint; completes <see cref="Ready"/>.</summary>
    /// <exception cref="ModelUnavailableException">Nothing usable at the configured path (also faults <see cref="Ready"/>).</exception>
    public LoadedModel Load()
    {
        string path = ModelPath;
        try
        {
            if (!Directory.Exists(path) && !File.Exists(path))
            {
                throw new ModelUnavailableException(string.IsNullOrEmpty(_options.Path)
                    ? $"model: no Model:Path is set and the bundled default '{path}' does not exist; run from the repository root with ../shared beside it, or pass --Model:Path=<checkpoint dir>"
                    : $"model: Model:Path '{path}' does not exist");
            }
            LogLoading(_logger, path);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            if (!DeviceSelection.TryParse(_runtime.Device, out var device))
                throw new ModelUnavailableException($"model: Runtime:Device is '{_runtime.Device}', expected {DeviceSelection.Values}");
            IModel model = DeviceSelection.Load(path, new ModelOptions { Threads = _options.Threads, PrefillBlock = _options.PrefillBlock }, device,
                line => LogDevice(_logger, line));
            try
            {
                ITextTokenizer? tokenizer = model is ILanguageModel ? LoadTokenizer(path) : null;
                if (tokenizer is not null && model is ILanguageModel lm && tokenizer.VocabSize > lm.VocabSize)
                    LogTokenizerVocab(_logger, tokenizer.VocabSize, lm.VocabSize);
                byte[] fingerprint = ModelFingerprint.Compute(path);
                var loaded = new LoadedModel(model, tokenizer, fingerprint, path);
                LogLoaded(_logger, loaded.Describe(), System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                _ready.TrySetResult(loaded);
                return loaded;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is not ModelUnavailableException)
        {
            var wrapped = new ModelUnavailableException($"model: cannot load '{path}': {ex.Message}", ex);
            _ready.TrySetException(wrapped);
            throw wrapped;
        }
        catch (ModelUnavailableException ex)
        {
            _ready.TrySetException(ex);
            throw;
        }
    }

    /// <summary>Tells waiters that no model will come (the service is stopping before it loaded).</summary>
    public void Abandon() => _ready.TrySetCanceled();

    private ITextTokenizer? LoadTokenizer(string modelPath)
    {
        if (!string.IsNullOrEmpty(_options.Tokenizer))
            return TokenizerLoader.FromDirectory(System.IO.Path.GetFullPath(_options.Tokenizer, _environment.ContentRootPath));
        try
        {
            // A GGUF file's own tokenizer.ggml.* metadata first, else tokenizer files beside the model.
            return TokenizerLoader.Load(modelPath);
        }
        catch (FileNotFoundException)
        {
            LogNoTokenizer(_logger, modelPath);
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ready.Task.IsCompletedSuccessfully) _ready.Task.Result.Dispose();
    }

    [LoggerMessage(1, LogLevel.Information, "Loading model from '{Path}'")]
    private static partial void LogLoading(ILogger logger, string path);

    [LoggerMessage(2, LogLevel.Information, "Loaded {Description} in {Milliseconds:F0} ms")]
    private static partial void LogLoaded(ILogger logger, string description, double milliseconds);

    [LoggerMessage(3, LogLevel.Information, "No tokenizer in '{Directory}': requests must send token ids (\"tokens\"); set Model:Tokenizer to use one")]
    private static partial void LogNoTokenizer(ILogger logger, string directory);

    [LoggerMessage(4, LogLevel.Warning, "The tokenizer has {TokenizerVocab} ids but the model only {ModelVocab}; prompts using the extra ids are rejected")]
    private static partial void LogTokenizerVocab(ILogger logger, int tokenizerVocab, int modelVocab);

    [LoggerMessage(5, LogLevel.Information, "Device: {Line}")]
    private static partial void LogDevice(ILogger logger, string line);
}

/// <summary>The configured model cannot be served; the message says why and what to set.</summary>
public sealed class ModelUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelUnavailableException(string message, Exception? inner = null) : base(message, inner) { }
}
