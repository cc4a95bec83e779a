using System.Text.Json.Serialization;

namespace EdgeRuntime.Messaging.Protocol;

/// <summary>A request on <c>edge/{node}/infer</c>: feed input steps to a sequence model (Aaren) and get its per-step outputs.</summary>
/// <remarks>
/// <see cref="Values"/> is a list of steps, each a list of <c>inputLength</c> numbers (<c>[[1,2,3],[4,5,6]]</c>), or a flat
/// list of <c>steps × inputLength</c> numbers (<c>[1,2,3,4,5,6]</c>). Immutable after parsing.
/// </remarks>
public sealed class InferRequest
{
    /// <summary>Request id echoed in the reply; default: the MQTT 5 correlation data as text, else generated.</summary>
    public string? Id { get; init; }

    /// <summary>MQTT 3.1.1 fallback: the topic the reply goes to.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>Named session whose state the steps continue (created on first use; persisted after each request).</summary>
    public string? Session { get; init; }

    /// <summary>Start the named session afresh.</summary>
    public bool? Reset { get; init; }

    /// <summary>Input steps (see the type remarks); each inner array is one JSON list as sent.</summary>
    [JsonConverter(typeof(InferValuesConverter))]
    public float[][]? Values { get; init; }
}
