using EdgeRuntime.Messaging;
using EdgeRuntime.Service.Hosting;
using EdgeRuntime.Service.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Inference;

/// <summary>Loads the models (inside <see cref="ExecuteAsync"/>) and runs a fixed number of inference workers on the work queue.</summary>
/// <remarks>
/// Every worker serves every model: a request goes to the model of its topic (generate or infer), each model with its
/// own named sessions. A model that cannot be loaded stops the host with exit code 1 and a message saying what to set.
/// At shutdown the queue is closed and every queued or running request is cancelled; each still gets its final message
/// (finish reason "cancelled", error <c>unavailable</c>) before the MQTT connection closes. Thread-safe.
/// </remarks>
public sealed partial class InferenceService : BackgroundService
{
    private readonly ModelHost _modelHost;
    private readonly WorkQueue _queue;
    private readonly SessionsOptions _sessions;
    private readonly ReplyPublisher _replies;
    private readonly WorkerHealth _health;
    private readonly LimitsOptions _limits;
    private readonly MqttOptions _mqtt;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<InferenceService> _logger;
    private readonly CancellationTokenSource _abort = new();

    /// <summary>Created by the host.</summary>
    public InferenceService(ModelHost modelHost, WorkQueue queue, IOptions<SessionsOptions> sessions, ReplyPublisher replies, WorkerHealth health,
        IOptions<LimitsOptions> limits, IOptions<MqttOptions> mqtt, IHostApplicationLifetime lifetime, ILoggerFactory loggers, ILogger<InferenceService> logger)
    {
        _modelHost = modelHost;
        _queue = queue;
        _sessions = sessions.Value;
        _loggers = loggers;
        _replies = replies;
        _health = health;
        _limits = limits.Value;
        _mqtt = mqtt.Value;
        _lifetime = lifetime;
        _logger = logger;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ServedModels models;
        try
        {
            models = await Task.Run(_modelHost.Load, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ModelUnavailableException ex)
        {
            LogModelUnavailable(_logger, ex.Message);
            Environment.ExitCode = 1;
            _lifetime.StopApplication();
            return;
        }

        using var generate = Serve(models.Generate);
        using var infer = Serve(models.Infer);
        var context = new WorkerContext(generate, infer, _queue, _replies, _health, TimeSpan.FromMilliseconds(_mqtt.ChunkFlushMilliseconds), _limits.MaxPromptTokens, _logger);
        int count = _limits.Workers;
        _health.Expect(count);
        var done = new Task[count];
        for (int i = 0; i < count; i++)
        {
            var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            done[i] = finished.Task;
            int index = i;
            // Not the stopping token: at shutdown the workers still send their final messages; they give up only when
            // the host's shutdown timeout expires (_abort).
            var thread = new Thread(() => RunWorker(index, context, finished, _abort.Token)) { IsBackground = true, Name = $"inference-{i}" };
            thread.Start();
        }
        LogWorkersStarted(_logger, count, _limits.QueueLength);
        // The session stores are disposed (above) only after every worker has ended.
        await Task.WhenAll(done).ConfigureAwait(false);
    }

    /// <summary>A served model with its own session store (snapshots in <see cref="SessionStore.DirectoryFor"/>), or null.</summary>
    private ModelSessions? Serve(LoadedModel? model) => model is null ? null
        : new ModelSessions(model, new SessionStore(model, SessionStore.DirectoryFor(model, _sessions.EffectiveDirectory), _sessions.Persist,
            _limits.ConcurrentSessions, _loggers.CreateLogger<SessionStore>()));

    /// <inheritdoc />
    public override Task StopAsync(CancellationToken cancellationToken)
    {
        // Cancel queued and running work first; the workers send their final messages and exit when the queue drains.
        _queue.Close();
        return StopWorkersAsync(cancellationToken);
    }

    private async Task StopWorkersAsync(CancellationToken cancellationToken)
    {
        using var giveUp = cancellationToken.Register(static abort => ((CancellationTokenSource)abort!).Cancel(), _abort);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _abort.Dispose();
        base.Dispose();
    }

    private void RunWorker(int index, WorkerContext context, TaskCompletionSource finished, CancellationToken stopping)
    {
        _health.Started();
        try
        {
            using var worker = new InferenceWorker(index, context, stopping);
            worker.Run();
            _health.Stopped();
            finished.TrySetResult();
        }
        catch (Exception ex)
        {
            _health.Faulted();
            LogWorkerFailed(_logger, index, ex);
            finished.TrySetException(ex);
        }
    }

    [LoggerMessage(40, LogLevel.Critical, "{Message}")]
    private static partial void LogModelUnavailable(ILogger logger, string message);

    [LoggerMessage(41, LogLevel.Information, "{Workers} inference workers started (queue length {QueueLength})")]
    private static partial void LogWorkersStarted(ILogger logger, int workers, int queueLength);

    [LoggerMessage(42, LogLevel.Critical, "Inference worker {Index} failed; the service is unhealthy")]
    private static partial void LogWorkerFailed(ILogger logger, int index, Exception exception);
}
