namespace EdgeRuntime.Models.Generation;

/// <summary>Why a generation ended; the protocol writes it in lower case ("stop", "length", "cancelled", "error").</summary>
/// <remarks>A value type; safe from any thread.</remarks>
public enum FinishReason
{
    /// <summary>An end-of-sequence or stop token was generated, or a stop string appeared.</summary>
    Stop,

    /// <summary>The token limit was reached.</summary>
    Length,

    /// <summary>The caller's cancellation token fired.</summary>
    Cancelled,

    /// <summary>The model or tokenizer failed; the exception was rethrown to the caller.</summary>
    Error,
}
