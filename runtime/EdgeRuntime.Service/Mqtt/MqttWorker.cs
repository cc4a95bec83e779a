using System.Reflection;
using EdgeRuntime.Messaging;
using EdgeRuntime.Messaging.Protocol;
using EdgeRuntime.Service.Hosting;
using EdgeRuntime.Service.Inference;
using EdgeRuntime.Service.Options;
using EdgeRuntime.Service.Systemd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeRuntime.Service.Mqtt;

/// <summary>The service's MQTT connection: connect, subscribe, announce, reconnect with backoff, and publish the outbox in order.</summary>
/// <remarks>
/// <para>Waits for the models, then connects (MQTT 5, clean start false with a session expiry, Last Will
/// <c>{"online":false}</c> retained on the status topic), subscribes to the request topics at QoS 1, and publishes the
/// retained birth message. When the connection drops it reconnects with exponential backoff and jitter, subscribes again
/// and re-announces. Replies go through <see cref="MqttOutbox"/>: one publisher sends them in order and retries a message
/// until the broker acknowledges it, so a broker restart delays replies but loses none (QoS 1: a reply may arrive twice;
/// clients drop a repeated <c>seq</c>).</para>
/// <para>At shutdown (after the workers sent their final messages) it drains the outbox, sets the status to
/// <c>{"online":false}</c> and disconnects normally. Thread-safe: the connection state is guarded by a lock, and one
/// task publishes.</para>
/// </remarks>
public sealed partial class MqttWorker : BackgroundService
{
    private static readonly TimeSpan s_drainTimeout = TimeSpan.FromSeconds(5);

    private readonly ModelHost _modelHost;
    private readonly WorkQueue _queue;
    private readonly MqttOutbox _outbox;
    private readonly SdNotify _notify;
    private readonly NodeOptions _node;
    private readonly MqttOptions _mqtt;
    private readonly LimitsOptions _limits;
    private readonly ILogger<MqttWorker> _logger;
    private readonly Topics _topics;
    private readonly CancellationTokenSource _pumpStop = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _connected = NewSignal();
    private TaskCompletionSource _lost = NewSignal();
    private IMqttClient? _client;
    private Task? _pump;

    /// <summary>Created by the host.</summary>
    public MqttWorker(ModelHost modelHost, WorkQueue queue, MqttOutbox outbox, SdNotify notify, IOptions<NodeOptions> node, IOptions<MqttOptions> mqtt,
        IOptions<LimitsOptions> limits, ILogger<MqttWorker> logger)
    {
        _modelHost = modelHost;
        _queue = queue;
        _outbox = outbox;
        _notify = notify;
        _node = node.Value;
        _mqtt = mqtt.Value;
        _limits = limits.Value;
        _logger = logger;
        _topics = new Topics(_node.TopicPrefix, _node.EffectiveNodeId);
    }

    /// <summary>This node's topics.</summary>
    public Topics Topics => _topics;

    /// <summary>The edge-runtime version reported in the birth message.</summary>
    public static string Version { get; } =
        typeof(MqttWorker).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ServedModels models;
        try
        {
            models = await _modelHost.Ready.WaitAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ModelUnavailableException)
        {
            return; // Stopping, or the model failed (the inference service reports it and stops the host).
        }

        var limits = new RequestLimits { MaxPayloadBytes = _limits.MaxPayloadBytes, MaxPromptTokens = _limits.MaxPromptTokens, MaxNewTokens = _limits.MaxNewTokens };
        bool shared = !string.IsNullOrEmpty(_mqtt.SharedGroup);
        var handler = new RequestHandler(_topics, new RequestParser(_topics, limits, models.Capabilities), _queue, _outbox, _logger, shared);
        var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += handler.HandleAsync;
        client.DisconnectedAsync += OnDisconnectedAsync;
        _client = client;
        _pump = Task.Run(() => PumpAsync(client, _pumpStop.Token), CancellationToken.None);

        var options = MqttClientOptionsFactory.Create(_mqtt, _topics);
        var (host, port) = _mqtt.BrokerEndPoint;
        int failures = 0;
        bool announcedReady = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                lock (_gate) _lost = NewSignal();
                var result = await client.ConnectAsync(options, stoppingToken).ConfigureAwait(false);
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                    throw new InvalidOperationException($"the broker refused the connection: {result.ResultCode} {result.ReasonString}");
                await SubscribeAsync(client, stoppingToken).ConfigureAwait(false);
                await client.PublishAsync(ReplyPublisher.Status(_topics.Status, Birth(models)), stoppingToken).ConfigureAwait(false);
                LogConnected(_logger, host, port, _topics.Root, result.IsSessionPresent);
                if (!announcedReady)
                {
                    announcedReady = true;
                    LogServing(_logger, _topics.Root, _topics.Generate, Serves(models.Generate), _topics.Infer, Serves(models.Infer));
                }
                _notify.Send($"READY=1\nSTATUS=serving {models.Families} on {_topics.Root} via {host}:{port}");
                failures = 0;
                lock (_gate)
                {
                    if (client.IsConnected) _connected.TrySetResult();
                }
                Task lost;
                lock (_gate) lost = _lost.Task;
                await lost.WaitAsync(stoppingToken).ConfigureAwait(false);
                if (stoppingToken.IsCancellationRequested) break;
                LogConnectionLost(_logger, host, port);
                _notify.Send($"STATUS=reconnecting to {host}:{port}");
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                if (failures == 0) LogConnectFailed(_logger, host, port, ex.Message);
                else LogConnectRetry(_logger, host, port, failures, ex.Message);
                if (client.IsConnected)
                {
                    try
                    {
                        await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception disconnectError) when (disconnectError is not OutOfMemoryException)
                    {
                        // Already gone.
                    }
                }
            }

            var delay = Backoff.Delay(failures++, TimeSpan.FromMilliseconds(_mqtt.ReconnectMinMilliseconds), TimeSpan.FromMilliseconds(_mqtt.ReconnectMaxMilliseconds), Random.Shared.NextDouble());
            try
            {
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The inference service stopped first: every final message is in the outbox. Send them, then say goodbye.
        _outbox.Complete();
        if (_pump is not null && _client?.IsConnected == true)
        {
            try
            {
                await _pump.WaitAsync(s_drainTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogDrainTimeout(_logger, s_drainTimeout.TotalSeconds);
            }
            catch (OperationCanceledException)
            {
                // Host shutdown timeout.
            }
        }
        await _pumpStop.CancelAsync().ConfigureAwait(false);
        if (_client is { IsConnected: true } client)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await client.PublishAsync(ReplyPublisher.Status(_topics.Status, new StatusMessage { Online = false }), timeout.Token).ConfigureAwait(false);
                await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogGoodbyeFailed(_logger, ex.Message);
            }
        }
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _client?.Dispose();
        _pumpStop.Dispose();
        base.Dispose();
    }

    private async Task SubscribeAsync(IMqttClient client, CancellationToken cancellationToken)
    {
        var subscribe = new MqttClientSubscribeOptionsBuilder();
        if (_mqtt.SharedGroup is { Length: > 0 } group)
        {
            // A fleet: requests to any node of the group go to one of them; cancels go to every node.
            subscribe.WithTopicFilter(_topics.SharedFilter(group, RequestKind.Generate), MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter(_topics.SharedFilter(group, RequestKind.Infer), MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter($"{_topics.Prefix}/+/cancel", MqttQualityOfServiceLevel.AtLeastOnce);
        }
        else
        {
            subscribe.WithTopicFilter(_topics.Generate, MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter(_topics.Infer, MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter(_topics.Cancel, MqttQualityOfServiceLevel.AtLeastOnce);
        }
        var result = await client.SubscribeAsync(subscribe.Build(), cancellationToken).ConfigureAwait(false);
        foreach (var item in result.Items)
        {
            if ((int)item.ResultCode > (int)MqttClientSubscribeResultCode.GrantedQoS2)
                throw new InvalidOperationException($"the broker refused the subscription to '{item.TopicFilter.Topic}': {item.ResultCode}");
        }
    }

    /// <summary>Publishes the outbox in order; a message is removed only after the broker took it.</summary>
    private async Task PumpAsync(IMqttClient client, CancellationToken cancellationToken)
    {
        var reader = _outbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!reader.TryPeek(out var message)) continue;
                while (true)
                {
                    Task connected;
                    lock (_gate) connected = _connected.Task;
                    await connected.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        var result = await client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
                        if (result.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
                            LogPublishRefused(_logger, message.Topic, result.ReasonCode.ToString(), result.ReasonString ?? "");
                        break;
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception ex)
                    {
                        // Not delivered: keep it at the head of the queue and try again once connected.
                        LogPublishRetry(_logger, message.Topic, ex.Message);
                        bool wait;
                        lock (_gate)
                        {
                            wait = client.IsConnected;
                            if (!wait && _connected.Task.IsCompleted) _connected = NewSignal();
                        }
                        if (wait) await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                    }
                }
                reader.TryRead(out _);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs args)
    {
        lock (_gate)
        {
            if (_connected.Task.IsCompleted) _connected = NewSignal();
            _lost.TrySetResult();
        }
        return Task.CompletedTask;
    }

    private StatusMessage Birth(ServedModels models) => new()
    {
        Online = true,
        NodeId = _topics.NodeId,
        Version = Version,
        Model = (models.Generate ?? models.Infer)!.ToStatus(),
        Models = models.ToStatus(),
        Limits = new StatusLimits
        {
            MaxPayloadBytes = _limits.MaxPayloadBytes,
            MaxPromptTokens = _limits.MaxPromptTokens,
            MaxNewTokens = _limits.MaxNewTokens,
            QueueLength = _limits.QueueLength,
            ConcurrentSessions = _limits.ConcurrentSessions,
            Workers = _limits.Workers,
        },
        Topics = new StatusTopics { Generate = _topics.Generate, Infer = _topics.Infer, Cancel = _topics.Cancel, Errors = _topics.Errors },
        Since = DateTimeOffset.UtcNow,
    };

    private static string Serves(LoadedModel? model) => model is null ? "no model: unsupported" : $"{model.Model.Info.Family} {model.Kind} model";

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(80, LogLevel.Information, "Connected to MQTT broker {Host}:{Port} as {Root} (session present: {SessionPresent})")]
    private static partial void LogConnected(ILogger logger, string host, int port, string root, bool sessionPresent);

    [LoggerMessage(81, LogLevel.Information, "Serving on {Root}: generate requests on '{Generate}' ({GenerateModel}), infer requests on '{Infer}' ({InferModel})")]
    private static partial void LogServing(ILogger logger, string root, string generate, string generateModel, string infer, string inferModel);

    [LoggerMessage(82, LogLevel.Warning, "Lost the connection to MQTT broker {Host}:{Port}; reconnecting")]
    private static partial void LogConnectionLost(ILogger logger, string host, int port);

    [LoggerMessage(83, LogLevel.Warning, "Cannot connect to MQTT broker {Host}:{Port}: {Reason}; retrying with backoff")]
    private static partial void LogConnectFailed(ILogger logger, string host, int port, string reason);

    [LoggerMessage(84, LogLevel.Debug, "Reconnect to {Host}:{Port} failed ({Failures} so far): {Reason}")]
    private static partial void LogConnectRetry(ILogger logger, string host, int port, int failures, string reason);

    [LoggerMessage(85, LogLevel.Error, "The broker refused a message to '{Topic}': {Code} {Reason}; it is dropped")]
    private static partial void LogPublishRefused(ILogger logger, string topic, string code, string reason);

    [LoggerMessage(86, LogLevel.Debug, "Publishing to '{Topic}' failed ({Reason}); will retry after reconnecting")]
    private static partial void LogPublishRetry(ILogger logger, string topic, string reason);

    [LoggerMessage(87, LogLevel.Warning, "Replies not sent within {Seconds} s of shutdown were dropped")]
    private static partial void LogDrainTimeout(ILogger logger, double seconds);

    [LoggerMessage(88, LogLevel.Warning, "Could not say goodbye to the broker: {Reason}")]
    private static partial void LogGoodbyeFailed(ILogger logger, string reason);
}
