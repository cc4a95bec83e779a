namespace EdgeRuntime.Messaging;

/// <summary>Limits a request is checked against (configuration section <c>Limits</c>).</summary>
/// <remarks>Immutable.</remarks>
public sealed record RequestLimits
{
    /// <summary>Largest payload in bytes; larger gets <c>too_large</c>. Default 65536.</summary>
    public int MaxPayloadBytes { get; init; } = 65536;

    /// <summary>Most prompt tokens (or infer steps) in one request; more gets <c>too_large</c>. Default 4096.</summary>
    public int MaxPromptTokens { get; init; } = 4096;

    /// <summary>Largest <c>maxTokens</c>; more gets <c>bad_request</c>. Default 1024.</summary>
    public int MaxNewTokens { get; init; } = 1024;

    /// <summary>Most stop strings per request.</summary>
    public int MaxStopStrings { get; init; } = 16;

    /// <summary>Longest stop string, characters.</summary>
    public int MaxStopLength { get; init; } = 256;
}

/// <summary>What the served models can do, for request validation: a language model on generate, a sequence model on infer, or both.</summary>
/// <param name="IsLanguageModel">True: a language model answers generate (tokens in, text out); false: generate is unsupported.</param>
/// <param name="VocabSize">The language model's token ids must be in [0, VocabSize).</param>
/// <param name="HasTokenizer">The language model's tokenizer: whether <c>prompt</c> text and <c>stop</c> strings can be used.</param>
/// <param name="InputLength">A sequence model answers infer (vectors in, vectors out) with this many numbers per input step; 0: infer is unsupported.</param>
/// <remarks>Immutable.</remarks>
public sealed record ModelCapabilities(bool IsLanguageModel, int VocabSize, bool HasTokenizer, int InputLength)
{
    /// <summary>Whether infer requests have a model.</summary>
    public bool HasSequenceModel => InputLength > 0;
}
