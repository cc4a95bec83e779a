using EdgeRuntime.Cuda;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Tokenizers;
using EdgeRuntime.Service.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Hosting;

/// <summary>Loads the configured models once and hands them to whoever waits for them (the workers and the MQTT connection).</summary>
/// <remarks>
/// <see cref="Load"/> runs inside the inference service's <c>ExecuteAsync</c>, so the host starts (and the embedded broker
/// listens) while a large model maps in. <c>Model</c> names the main model, a language model (served on generate) or a
/// sequence model (served on infer); with no <c>Model:Path</c> the bundled default is served:
/// <see cref="ModelSourceOptions.DefaultPath"/> relative to the content root. Beside a language model, <c>InferModel</c>
/// names a sequence model for infer; with no <c>InferModel:Path</c> the bundled <see cref="InferModelOptions.DefaultPath"/>
/// is served when it exists, and skipped with one log line when it does not. Thread-safe.
/// </remarks>
public sealed partial class ModelHost : IDisposable
{
    private readonly ModelSourceOptions _options;
    private readonly InferModelOptions _infer;
    private readonly RuntimeOptions _runtime;
    private readonly IHostEnvironment _environment;
    private readonly ILogger<ModelHost> _logger;
    private readonly TaskCompletionSource<ServedModels> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the host; nothing is loaded yet.</summary>
    public ModelHost(IOptions<ModelSourceOptions> options, IOptions<InferModelOptions> infer, IOptions<RuntimeOptions> runtime, IHostEnvironment environment,
        ILogger<ModelHost> logger)
    {
        _options = options.Value;
        _infer = infer.Value;
        _runtime = runtime.Value;
        _environment = environment;
        _logger = logger;
    }

    /// <summary>Completes with the models once loaded; faults if loading failed.</summary>
    public Task<ServedModels> Ready => _ready.Task;

    /// <summary>Whether loading has finished, either way.</summary>
    public bool IsSettled => _ready.Task.IsCompleted;

    /// <summary>Whether the models are loaded and usable.</summary>
    public bool IsLoaded => _ready.Task.IsCompletedSuccessfully;

    /// <summary>The model directory or file of <c>Model</c> that will be (or was) loaded.</summary>
    public string ModelPath => string.IsNullOrEmpty(_options.Path)
        ? System.IO.Path.GetFullPath(System.IO.Path.Combine(_environment.ContentRootPath, ModelSourceOptions.DefaultPath))
        : System.IO.Path.GetFullPath(_options.Path, _environment.ContentRootPath);

    /// <summary>The model directory or file of <c>InferModel</c> (configured, else the bundled default); null when
    /// <c>InferModel:Enabled</c> is false.</summary>
    public string? InferModelPath => !_infer.Enabled ? null : string.IsNullOrEmpty(_infer.Path)
        ? System.IO.Path.GetFullPath(System.IO.Path.Combine(_environment.ContentRootPath, InferModelOptions.DefaultPath))
        : System.IO.Path.GetFullPath(_infer.Path, _environment.ContentRootPath);

    /// <summary>Loads the models, tokenizer and fingerprints; completes <see cref="Ready"/>.</summary>
    /// <exception cref="ModelUnavailableException">Nothing usable at a configured path, or two models for infer (also faults <see cref="Ready"/>).</exception>
    public ServedModels Load()
    {
        LoadedModel? main = null, second = null;
        try
        {
            string path = ModelPath;
            if (!Directory.Exists(path) && !File.Exists(path))
            {
                throw new ModelUnavailableException(string.IsNullOrEmpty(_options.Path)
                    ? $"model: no Model:Path is set and the bundled default '{path}' does not exist; run from the repository root with ../shared beside it, or pass --Model:Path=<checkpoint dir>"
                    : $"model: Model:Path '{path}' does not exist");
            }
            main = LoadOne(ModelSourceOptions.Section, path, _options.Threads, _options.PrefillBlock);
            second = LoadInferModel(main);
            var served = main.Language is not null ? new ServedModels(main, second) : new ServedModels(null, main);
            _ready.TrySetResult(served);
            return served;
        }
        catch (ModelUnavailableException ex)
        {
            main?.Dispose();
            second?.Dispose();
            _ready.TrySetException(ex);
            throw;
        }
    }

    /// <summary>The <c>InferModel</c> beside <paramref name="main"/>, or null when there is none to serve.</summary>
    private LoadedModel? LoadInferModel(LoadedModel main)
    {
        if (InferModelPath is not { } path) return null;
        bool isDefault = string.IsNullOrEmpty(_infer.Path);
        bool exists = Directory.Exists(path) || File.Exists(path);
        if (main.Sequence is not null)
        {
            // The main model already answers infer; only one model can.
            if (!isDefault)
            {
                throw new ModelUnavailableException(
                    $"model: Model:Path '{main.Path}' is a sequence model, so it serves infer, and InferModel:Path '{path}' names another; set Model:Path to a language model, or InferModel:Enabled=false");
            }
            if (exists) LogDefaultInferModelNotUsed(_logger, path, main.Path);
            return null;
        }
        if (!exists)
        {
            if (!isDefault) throw new ModelUnavailableException($"model: InferModel:Path '{path}' does not exist");
            LogNoDefaultInferModel(_logger, path);
            return null;
        }
        var loaded = LoadOne(InferModelOptions.Section, path, _infer.Threads, _infer.PrefillBlock);
        if (loaded.Sequence is null)
        {
            string family = loaded.Model.Info.Family;
            loaded.Dispose();
            throw new ModelUnavailableException(
                $"model: InferModel:Path '{path}' is a {family} language model, expected a sequence model (Aaren); a language model goes in Model:Path");
        }
        return loaded;
    }

    /// <summary>Loads one model, its tokenizer (language models) and fingerprint; wraps any failure with the path.</summary>
    private LoadedModel LoadOne(string section, string path, int threads, int prefillBlock)
    {
        try
        {
            LogLoading(_logger, section, path);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            if (!DeviceSelection.TryParse(_runtime.Device, out var device))
                throw new ModelUnavailableException($"model: Runtime:Device is '{_runtime.Device}', expected {DeviceSelection.Values}");
            IModel model = DeviceSelection.Load(path, new ModelOptions { Threads = threads, PrefillBlock = prefillBlock }, device,
                line => LogDevice(_logger, line));
            try
            {
                ITextTokenizer? tokenizer = model is ILanguageModel ? LoadTokenizer(path) : null;
                if (tokenizer is not null && model is ILanguageModel lm && tokenizer.VocabSize > lm.VocabSize)
                    LogTokenizerVocab(_logger, tokenizer.VocabSize, lm.VocabSize);
                byte[] fingerprint = ModelFingerprint.Compute(path);
                var loaded = new LoadedModel(model, tokenizer, fingerprint, path, section);
                LogLoaded(_logger, section, loaded.Describe(), System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
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
            throw new ModelUnavailableException($"model: cannot load '{path}': {ex.Message}", ex);
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

    [LoggerMessage(1, LogLevel.Information, "{Section}: loading model from '{Path}'")]
    private static partial void LogLoading(ILogger logger, string section, string path);

    [LoggerMessage(2, LogLevel.Information, "{Section}: loaded {Description} in {Milliseconds:F0} ms")]
    private static partial void LogLoaded(ILogger logger, string section, string description, double milliseconds);

    [LoggerMessage(3, LogLevel.Information, "No tokenizer in '{Directory}': requests must send token ids (\"tokens\"); set Model:Tokenizer to use one")]
    private static partial void LogNoTokenizer(ILogger logger, string directory);

    [LoggerMessage(4, LogLevel.Warning, "The tokenizer has {TokenizerVocab} ids but the model only {ModelVocab}; prompts using the extra ids are rejected")]
    private static partial void LogTokenizerVocab(ILogger logger, int tokenizerVocab, int modelVocab);

    [LoggerMessage(5, LogLevel.Information, "Device: {Line}")]
    private static partial void LogDevice(ILogger logger, string line);

    [LoggerMessage(6, LogLevel.Information, "InferModel: no InferModel:Path is set and the bundled default '{Path}' does not exist, so infer requests get 'unsupported'; set InferModel:Path=<sequence model> to serve one beside the language model (InferModel:Enabled=false silences this line)")]
    private static partial void LogNoDefaultInferModel(ILogger logger, string path);

    [LoggerMessage(7, LogLevel.Information, "InferModel: the bundled default '{Path}' is not loaded: Model:Path '{Main}' is a sequence model and serves infer")]
    private static partial void LogDefaultInferModelNotUsed(ILogger logger, string path, string main);
}

/// <summary>The configured model cannot be served; the message says why and what to set.</summary>
public sealed class ModelUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelUnavailableException(string message, Exception? inner = null) : base(message, inner) { }
}
