namespace EdgeRuntime.Messaging.Protocol;

/// <summary>The error codes of the protocol (documented in docs/protocol.md).</summary>
/// <remarks>Constants; safe from any thread.</remarks>
public static class ErrorCodes
{
    /// <summary>The payload is not valid UTF-8 or JSON, a field has the wrong type or range, a field is missing or unknown.</summary>
    public const string BadRequest = "bad_request";

    /// <summary>The payload, the prompt (in tokens) or the infer steps exceed the configured limits.</summary>
    public const string TooLarge = "too_large";

    /// <summary>The work queue is full, or the named session is in use by another request; retry later.</summary>
    public const string Busy = "busy";

    /// <summary>A named session to continue does not exist, or a cancel names no queued or running request.</summary>
    public const string NotFound = "not_found";

    /// <summary>The request kind does not fit the model (generate on a sequence model, infer on a language model).</summary>
    public const string Unsupported = "unsupported";

    /// <summary>The named session's snapshot is corrupt, of a newer format, or was written by another model; it was not loaded.</summary>
    public const string SessionInvalid = "session_invalid";

    /// <summary>The model failed while running the request; the session (if any) keeps its state from before the request.</summary>
    public const string ModelError = "model_error";

    /// <summary>The service is shutting down; the request was not (completely) run.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>An unexpected failure inside the service (a bug); the service keeps serving.</summary>
    public const string Internal = "internal";
}
