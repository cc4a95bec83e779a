namespace EdgeRuntime.Messaging;

/// <summary>Where the replies to one request go and how they are labelled.</summary>
/// <param name="Topic">The MQTT 5 response topic, the payload's <c>replyTo</c>, or the node's errors topic.</param>
/// <param name="CorrelationData">The request's MQTT 5 correlation data, echoed on every reply (null if none).</param>
/// <param name="Id">The request id put in every reply (null only for unreadable requests).</param>
/// <param name="IsErrorsTopic">True when the request named no usable reply topic: only errors are sent, to <c>edge/{node}/errors</c>.</param>
/// <remarks>Immutable.</remarks>
public sealed record ReplyRoute(string Topic, byte[]? CorrelationData, string? Id, bool IsErrorsTopic);
