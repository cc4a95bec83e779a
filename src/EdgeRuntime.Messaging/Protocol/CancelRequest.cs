namespace EdgeRuntime.Messaging.Protocol;

/// <summary>A request on <c>edge/{node}/cancel</c>: stop the queued or running request(s) with this id.</summary>
/// <remarks>The cancelled request ends with a final message, finish reason "cancelled". Immutable after parsing.</remarks>
public sealed class CancelRequest
{
    /// <summary>The id of the request to cancel (required).</summary>
    public string? Id { get; init; }

    /// <summary>Where an error about this cancel (unknown id) goes; default the MQTT 5 response topic, else <c>edge/{node}/errors</c>.</summary>
    public string? ReplyTo { get; init; }
}
