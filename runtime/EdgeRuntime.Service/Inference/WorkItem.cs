using EdgeRuntime.Messaging;

namespace EdgeRuntime.Service.Inference;

/// <summary>One accepted request waiting for (or running on) a worker.</summary>
/// <remarks>The cancellation source is signalled by <c>cancel</c> requests and at shutdown; everything else is immutable.</remarks>
public sealed class WorkItem : IDisposable
{
    /// <summary>Wraps a validated request.</summary>
    public WorkItem(ParsedRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.IsValid || request.Kind == RequestKind.Cancel) throw new ArgumentException("work items are valid generate or infer requests", nameof(request));
        Request = request;
        Id = request.Id!;
    }

    /// <summary>The request.</summary>
    public ParsedRequest Request { get; }

    /// <summary>The request id (what <c>cancel</c> names).</summary>
    public string Id { get; }

    /// <summary>Signalled to cancel the request.</summary>
    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Set when cancelled because the service is stopping (the final message then carries <c>unavailable</c>).</summary>
    public bool ShuttingDown { get; set; }

    /// <inheritdoc />
    public void Dispose() => Cancellation.Dispose();
}
