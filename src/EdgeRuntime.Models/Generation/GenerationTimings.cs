namespace EdgeRuntime.Models.Generation;

/// <summary>Wall-clock timings of one generation round, measured with <see cref="System.Diagnostics.Stopwatch"/>.</summary>
/// <remarks>Immutable value; safe to share.</remarks>
/// <param name="PromptMs">Milliseconds spent prefilling the prompt.</param>
/// <param name="PromptTokens">Prompt tokens prefilled.</param>
/// <param name="DecodeMs">Milliseconds spent generating (model steps, sampling, detokenizing).</param>
/// <param name="DecodeTokens">Tokens generated.</param>
public readonly record struct GenerationTimings(double PromptMs, int PromptTokens, double DecodeMs, int DecodeTokens)
{
    /// <summary>Prompt tokens per second (0 when nothing was timed).</summary>
    public double PromptTokensPerSecond => PromptMs > 0 ? PromptTokens * 1000.0 / PromptMs : 0;

    /// <summary>Generated tokens per second (0 when nothing was timed).</summary>
    public double DecodeTokensPerSecond => DecodeMs > 0 ? DecodeTokens * 1000.0 / DecodeMs : 0;
}
