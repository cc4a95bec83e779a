using EdgeRuntime.Messaging.Protocol;

namespace EdgeRuntime.Messaging;

/// <summary>The outcome of parsing one request: a validated spec, or an error to send back, and always a reply route.</summary>
/// <remarks>Exactly one of <see cref="Error"/>, <see cref="Generate"/>, <see cref="Infer"/>, <see cref="CancelId"/> is set. Immutable.</remarks>
public sealed class ParsedRequest
{
    private ParsedRequest(RequestKind kind, ReplyRoute reply)
    {
        Kind = kind;
        Reply = reply;
    }

    /// <summary>The request kind (from the topic).</summary>
    public RequestKind Kind { get; }

    /// <summary>Where replies (or the error) go.</summary>
    public ReplyRoute Reply { get; }

    /// <summary>The request id (the reply route's).</summary>
    public string? Id => Reply.Id;

    /// <summary>Why the request was rejected, or null.</summary>
    public ErrorInfo? Error { get; private init; }

    /// <summary>A valid generate request.</summary>
    public GenerateSpec? Generate { get; private init; }

    /// <summary>A valid infer request.</summary>
    public InferSpec? Infer { get; private init; }

    /// <summary>A valid cancel request: the id to cancel.</summary>
    public string? CancelId { get; private init; }

    /// <summary>Whether the request was accepted.</summary>
    public bool IsValid => Error is null;

    internal static ParsedRequest Rejected(RequestKind kind, ReplyRoute reply, string code, string message) =>
        new(kind, reply) { Error = new ErrorInfo(code, message) };

    internal static ParsedRequest Of(ReplyRoute reply, GenerateSpec spec) => new(RequestKind.Generate, reply) { Generate = spec };

    internal static ParsedRequest Of(ReplyRoute reply, InferSpec spec) => new(RequestKind.Infer, reply) { Infer = spec };

    internal static ParsedRequest OfCancel(ReplyRoute reply, string id) => new(RequestKind.Cancel, reply) { CancelId = id };
}
