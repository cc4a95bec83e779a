using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using EdgeRuntime.Messaging.Protocol;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeRuntime.Messaging;

/// <summary>Builds reply messages (JSON, QoS 1, the request's correlation data) and hands them to an <see cref="IMessageOutbox"/>.</summary>
/// <remarks>
/// MQTT 5 requests get replies on their response topic with the same correlation data; MQTT 3.1.1 requests on their
/// <c>replyTo</c> topic, told apart by the <c>id</c> in every payload; requests with neither get only errors, on
/// <c>edge/{node}/errors</c>. Thread-safe.
/// </remarks>
public sealed class ReplyPublisher
{
    private readonly IMessageOutbox _outbox;

    /// <summary>Creates a publisher writing to <paramref name="outbox"/>.</summary>
    public ReplyPublisher(IMessageOutbox outbox)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        _outbox = outbox;
    }

    /// <summary>Queues a chunk.</summary>
    public ValueTask SendChunkAsync(ReplyRoute route, ChunkMessage chunk, CancellationToken cancellationToken) =>
        _outbox.SendAsync(Build(route, chunk, ProtocolJsonContext.Protocol.ChunkMessage), cancellationToken);

    /// <summary>Queues a final message.</summary>
    public ValueTask SendFinalAsync(ReplyRoute route, FinalMessage final, CancellationToken cancellationToken) =>
        _outbox.SendAsync(Build(route, final, ProtocolJsonContext.Protocol.FinalMessage), cancellationToken);

    /// <summary>Queues an error as a final message (finish reason "error", or "cancelled" for <see cref="ErrorCodes.Unavailable"/>).</summary>
    public ValueTask SendErrorAsync(ReplyRoute route, ErrorInfo error, int seq, CancellationToken cancellationToken) =>
        SendFinalAsync(route, ErrorFinal(route.Id, error, seq), cancellationToken);

    /// <summary>The final message for an error.</summary>
    public static FinalMessage ErrorFinal(string? id, ErrorInfo error, int seq) => new()
    {
        Id = id,
        Seq = seq,
        FinishReason = error.Code == ErrorCodes.Unavailable ? "cancelled" : "error",
        Error = error,
    };

    /// <summary>A JSON reply message for <paramref name="route"/>.</summary>
    public static MqttApplicationMessage Build<T>(ReplyRoute route, T payload, JsonTypeInfo<T> type)
    {
        ArgumentNullException.ThrowIfNull(route);
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(route.Topic)
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(payload, type))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
        if (route.CorrelationData is { Length: > 0 } correlation) builder.WithCorrelationData(correlation);
        return builder.Build();
    }

    /// <summary>The retained status message (birth, or the Last Will's <c>{"online":false}</c>).</summary>
    public static MqttApplicationMessage Status(string topic, StatusMessage status) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(StatusPayload(status))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(true)
            .WithContentType("application/json")
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .Build();

    /// <summary>The JSON bytes of a status message.</summary>
    public static byte[] StatusPayload(StatusMessage status) => JsonSerializer.SerializeToUtf8Bytes(status, ProtocolJsonContext.Protocol.StatusMessage);
}
