using MQTTnet;

namespace EdgeRuntime.Messaging;

/// <summary>Where outgoing MQTT messages are queued; the owner publishes them in order, retrying across reconnects.</summary>
/// <remarks>Implementations must be thread-safe and keep the order of calls from any one thread.</remarks>
public interface IMessageOutbox
{
    /// <summary>Queues <paramref name="message"/>; waits while the queue is full.</summary>
    ValueTask SendAsync(MqttApplicationMessage message, CancellationToken cancellationToken);
}
