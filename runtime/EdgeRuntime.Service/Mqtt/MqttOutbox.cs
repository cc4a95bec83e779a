using System.Threading.Channels;
using EdgeRuntime.Messaging;
using EdgeRuntime.Service.Options;
using Microsoft.Extensions.Options;
using MQTTnet;

namespace EdgeRuntime.Service.Mqtt;

/// <summary>The ordered queue of outgoing messages that the MQTT connection publishes, retrying across reconnects.</summary>
/// <remarks>
/// One publisher drains it in order, so replies are never reordered; a message leaves the queue only once the broker
/// acknowledged it (QoS 1) or refused it for good. Workers wait when it is full (broker unreachable for long);
/// the MQTT receive handler never waits (<see cref="TrySend"/>). Thread-safe.
/// </remarks>
public sealed class MqttOutbox : IMessageOutbox
{
    private readonly Channel<MqttApplicationMessage> _channel;

    /// <summary>Creates the outbox with <c>Mqtt:OutboxLength</c> places.</summary>
    public MqttOutbox(IOptions<MqttOptions> options)
    {
        _channel = Channel.CreateBounded<MqttApplicationMessage>(new BoundedChannelOptions(options.Value.OutboxLength)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
    }

    /// <summary>The publisher's end.</summary>
    internal ChannelReader<MqttApplicationMessage> Reader => _channel.Reader;

    /// <inheritdoc />
    public ValueTask SendAsync(MqttApplicationMessage message, CancellationToken cancellationToken) => _channel.Writer.WriteAsync(message, cancellationToken);

    /// <summary>Queues without waiting; false when full or closed.</summary>
    public bool TrySend(MqttApplicationMessage message) => _channel.Writer.TryWrite(message);

    /// <summary>No more messages will come (shutdown).</summary>
    public void Complete() => _channel.Writer.TryComplete();
}
