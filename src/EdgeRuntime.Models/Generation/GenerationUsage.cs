namespace EdgeRuntime.Models.Generation;

/// <summary>Token counts of one generation round.</summary>
/// <remarks>Immutable value; safe to share.</remarks>
/// <param name="PromptTokens">Tokens appended as prompt (BOS included when added).</param>
/// <param name="CompletionTokens">Tokens generated, the stopping EOS included.</param>
public readonly record struct GenerationUsage(int PromptTokens, int CompletionTokens)
{
    /// <summary>Prompt plus completion.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}
