namespace EdgeRuntime.Messaging.Protocol;

/// <summary>The last message of every reply stream (and the only one of an error or an infer reply).</summary>
/// <remarks>
/// <c>{"id":...,"seq":n,"done":true,"finishReason":"stop|length|cancelled|error",...}</c>. An error carries
/// <see cref="Error"/> and finish reason "error" (or "cancelled" when the service shuts down). Absent fields are omitted
/// from the JSON. Immutable.
/// </remarks>
public sealed class FinalMessage
{
    /// <summary>The request id (null only when an unreadable request had none).</summary>
    public string? Id { get; init; }

    /// <summary>One past the last chunk's sequence number (0 when no chunk was sent).</summary>
    public required int Seq { get; init; }

    /// <summary>Always true: the stream is over.</summary>
    public bool Done => true;

    /// <summary>"stop", "length", "cancelled" or "error".</summary>
    public required string FinishReason { get; init; }

    /// <summary>Token counts (generate).</summary>
    public Usage? Usage { get; init; }

    /// <summary>Wall-clock timings.</summary>
    public Timings? Timings { get; init; }

    /// <summary>What went wrong (finish reason "error").</summary>
    public ErrorInfo? Error { get; init; }

    /// <summary>The session the request continued, if any.</summary>
    public string? Session { get; init; }

    /// <summary>Tokens (or steps) the session's state has consumed after this request.</summary>
    public long? Position { get; init; }

    /// <summary>The sampler seed used (so a sampled answer can be reproduced).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Infer: the model's output for every input step, in order.</summary>
    public float[][]? Outputs { get; init; }
}
