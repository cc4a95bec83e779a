namespace EdgeRuntime.Messaging;

/// <summary>A validated generate request with every default filled in.</summary>
/// <param name="Prompt">Prompt text (null when <paramref name="Tokens"/> is used or when continuing a session).</param>
/// <param name="Tokens">Prompt token ids, each in [0, vocab) (null when <paramref name="Prompt"/> is used or when continuing).</param>
/// <param name="MaxTokens">Most tokens to generate.</param>
/// <param name="Temperature">Sampling temperature (0 = greedy).</param>
/// <param name="TopP">Nucleus probability (1 = off).</param>
/// <param name="TopK">Top-k (0 = off).</param>
/// <param name="MinP">Min-p (0 = off).</param>
/// <param name="RepeatPenalty">Repetition penalty (1 = off).</param>
/// <param name="RepeatLastN">Penalty window (0 = all).</param>
/// <param name="Seed">Sampler seed (drawn at random when the request gave none).</param>
/// <param name="Stop">Stop strings.</param>
/// <param name="Session">Named session, or null for a one-off request.</param>
/// <param name="Reset">Start the named session afresh.</param>
/// <remarks>Immutable.</remarks>
public sealed record GenerateSpec(
    string? Prompt,
    int[]? Tokens,
    int MaxTokens,
    float Temperature,
    float TopP,
    int TopK,
    float MinP,
    float RepeatPenalty,
    int RepeatLastN,
    ulong Seed,
    string[] Stop,
    string? Session,
    bool Reset)
{
    /// <summary>Whether the request brings no new prompt (it continues a named session from its last token).</summary>
    public bool IsContinuation => string.IsNullOrEmpty(Prompt) && (Tokens is null || Tokens.Length == 0);
}

/// <summary>A validated infer request: <paramref name="Steps"/> input steps, row-major in <paramref name="Inputs"/>.</summary>
/// <param name="Inputs">Steps × inputLength numbers.</param>
/// <param name="Steps">Number of input steps (at least 1).</param>
/// <param name="Session">Named session, or null for a one-off request.</param>
/// <param name="Reset">Start the named session afresh.</param>
/// <remarks>Immutable.</remarks>
public sealed record InferSpec(float[] Inputs, int Steps, string? Session, bool Reset);

/// <summary>The defaults of optional generate fields (the same as <c>edge-runtime generate</c>).</summary>
public static class GenerateDefaults
{
    /// <summary><c>maxTokens</c> (capped at Limits:MaxNewTokens).</summary>
    public const int MaxTokens = 128;

    /// <summary><c>temperature</c>.</summary>
    public const float Temperature = 0.8f;

    /// <summary><c>topP</c>.</summary>
    public const float TopP = 0.95f;

    /// <summary><c>topK</c>.</summary>
    public const int TopK = 40;

    /// <summary><c>minP</c>.</summary>
    public const float MinP = 0.05f;

    /// <summary><c>repeatPenalty</c>.</summary>
    public const float RepeatPenalty = 1f;

    /// <summary><c>repeatLastN</c>.</summary>
    public const int RepeatLastN = 64;
}
