using EdgeRuntime.Messaging;
using EdgeRuntime.Messaging.Protocol;
using EdgeRuntime.Service.Inference;
using Microsoft.Extensions.Logging;
using MQTTnet;

namespace EdgeRuntime.Service.Mqtt;

/// <summary>The MQTT message handler: validates each request and enqueues it; it never runs inference and never waits.</summary>
/// <remarks>
/// Every rejected request gets exactly one error reply (on its reply topic, else <c>edge/{node}/errors</c>) and one log
/// line. A full queue answers <c>busy</c> at once. Thread-safe (MQTTnet calls it from its receive loop).
/// </remarks>
public sealed partial class RequestHandler
{
    private readonly Topics _topics;
    private readonly RequestParser _parser;
    private readonly WorkQueue _queue;
    private readonly MqttOutbox _outbox;
    private readonly ILogger _logger;
    private readonly bool _shared;

    /// <summary>Creates the handler.</summary>
    /// <param name="topics">This node's topics.</param>
    /// <param name="parser">Validates against the loaded model and the limits.</param>
    /// <param name="queue">Where accepted work goes.</param>
    /// <param name="outbox">Where error replies go (without waiting).</param>
    /// <param name="logger">One line per rejected request.</param>
    /// <param name="shared">Requests also arrive for other nodes (shared subscriptions): stay quiet about cancels of unknown ids there.</param>
    public RequestHandler(Topics topics, RequestParser parser, WorkQueue queue, MqttOutbox outbox, ILogger logger, bool shared)
    {
        _topics = topics;
        _parser = parser;
        _queue = queue;
        _outbox = outbox;
        _logger = logger;
        _shared = shared;
    }

    /// <summary>Handles one incoming message.</summary>
    public Task HandleAsync(MqttApplicationMessageReceivedEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var message = args.ApplicationMessage;
        try
        {
            if (_topics.Classify(message.Topic) is not RequestKind kind) return Task.CompletedTask;
            var parsed = _parser.Parse(kind, message.Payload, message.ResponseTopic, message.CorrelationData);
            if (!parsed.IsValid)
            {
                Reply(parsed.Reply, parsed.Error!, message.Topic);
                return Task.CompletedTask;
            }
            if (parsed.Kind == RequestKind.Cancel)
            {
                int cancelled = _queue.Cancel(parsed.CancelId!);
                LogCancel(_logger, parsed.CancelId!, cancelled);
                if (cancelled == 0 && (!_shared || message.Topic == _topics.Cancel))
                    Reply(parsed.Reply, new ErrorInfo(ErrorCodes.NotFound, $"no queued or running request has id '{parsed.CancelId}'"), message.Topic);
                return Task.CompletedTask;
            }
            if (_queue.IsClosed)
            {
                Reply(parsed.Reply, new ErrorInfo(ErrorCodes.Unavailable, "the service is shutting down"), message.Topic);
                return Task.CompletedTask;
            }
            var item = new WorkItem(parsed);
            if (!_queue.TryEnqueue(item))
            {
                item.Dispose();
                Reply(parsed.Reply, _queue.IsClosed
                    ? new ErrorInfo(ErrorCodes.Unavailable, "the service is shutting down")
                    : new ErrorInfo(ErrorCodes.Busy, $"the work queue is full ({_queue.Waiting} waiting); retry later"), message.Topic);
                return Task.CompletedTask;
            }
            LogAccepted(_logger, parsed.Kind, item.Id);
        }
        catch (Exception ex)
        {
            // Parsing never throws on bad input; anything here is a bug, and it must not take the connection down.
            LogHandlerFailed(_logger, message.Topic, ex);
        }
        return Task.CompletedTask;
    }

    private void Reply(ReplyRoute route, ErrorInfo error, string topic)
    {
        LogRejected(_logger, topic, route.Id ?? "(none)", error.Code, error.Message);
        if (!_outbox.TrySend(ReplyPublisher.Build(route, ReplyPublisher.ErrorFinal(route.Id, error, 0), ProtocolJsonContext.Protocol.FinalMessage)))
            LogOutboxFull(_logger, route.Topic);
    }

    [LoggerMessage(50, LogLevel.Warning, "Rejected a request on '{Topic}' (id {Id}): {Code}: {Message}")]
    private static partial void LogRejected(ILogger logger, string topic, string id, string code, string message);

    [LoggerMessage(51, LogLevel.Debug, "Accepted {Kind} request '{Id}'")]
    private static partial void LogAccepted(ILogger logger, RequestKind kind, string id);

    [LoggerMessage(52, LogLevel.Information, "Cancel '{Id}': {Count} request(s) cancelled")]
    private static partial void LogCancel(ILogger logger, string id, int count);

    [LoggerMessage(53, LogLevel.Error, "The error reply to '{Topic}' was dropped: the outbox is full (broker unreachable)")]
    private static partial void LogOutboxFull(ILogger logger, string topic);

    [LoggerMessage(54, LogLevel.Error, "Handling a message on '{Topic}' failed")]
    private static partial void LogHandlerFailed(ILogger logger, string topic, Exception exception);
}
