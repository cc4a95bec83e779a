namespace EdgeRuntime.Messaging.Protocol;

/// <summary>A request on <c>edge/{node}/generate</c>: continue a token sequence from a prompt (text) or token ids.</summary>
/// <remarks>
/// Every field is optional at the JSON level; <see cref="RequestParser"/> enforces the rules (exactly one of
/// <see cref="Prompt"/> and <see cref="Tokens"/>, or neither when continuing a named <see cref="Session"/>) and the limits.
/// Unknown fields are rejected so that a misspelt option never silently falls back to its default. Immutable after parsing.
/// </remarks>
public sealed class GenerateRequest
{
    /// <summary>Request id echoed in every reply and used by <c>cancel</c>; default: the MQTT 5 correlation data as text, else generated.</summary>
    public string? Id { get; init; }

    /// <summary>MQTT 3.1.1 fallback: the topic replies go to (MQTT 5 clients set the response topic property instead).</summary>
    public string? ReplyTo { get; init; }

    /// <summary>Prompt text (needs a model with a tokenizer).</summary>
    public string? Prompt { get; init; }

    /// <summary>Prompt token ids, fed verbatim (models without a tokenizer, exact reproducibility).</summary>
    public int[]? Tokens { get; init; }

    /// <summary>Most tokens to generate (0..Limits:MaxNewTokens); default min(128, Limits:MaxNewTokens).</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Sampling temperature (finite, >= 0; 0 = greedy); default 0.8.</summary>
    public float? Temperature { get; init; }

    /// <summary>Nucleus probability in (0, 1] (1 = off); default 0.95.</summary>
    public float? TopP { get; init; }

    /// <summary>Keep the k most likely tokens (>= 0, 0 = off); default 40.</summary>
    public int? TopK { get; init; }

    /// <summary>Minimum probability relative to the top token, in [0, 1] (0 = off); default 0.05.</summary>
    public float? MinP { get; init; }

    /// <summary>Hugging Face repetition penalty (finite, > 0; 1 = off); default 1.</summary>
    public float? RepeatPenalty { get; init; }

    /// <summary>Penalise only the last N tokens (>= 0, 0 = all); default 64.</summary>
    public int? RepeatLastN { get; init; }

    /// <summary>Sampler seed; default random (reported in the final message).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Stop strings (need a tokenizer); the stop text is not sent.</summary>
    public string[]? Stop { get; init; }

    /// <summary>Named session to continue (created on first use; persisted after each request).</summary>
    public string? Session { get; init; }

    /// <summary>Start the named session afresh (forget its history, even an unreadable snapshot).</summary>
    public bool? Reset { get; init; }
}
