namespace EdgeRuntime.Messaging.Protocol;

/// <summary>Token counts of a request: <c>{"promptTokens":..,"completionTokens":..,"totalTokens":..}</c>.</summary>
/// <remarks>For infer, <see cref="PromptTokens"/> counts input steps. Immutable.</remarks>
/// <param name="PromptTokens">Prompt tokens consumed (infer: input steps).</param>
/// <param name="CompletionTokens">Tokens generated (the stopping EOS included).</param>
public sealed record Usage(int PromptTokens, int CompletionTokens)
{
    /// <summary>Prompt plus completion.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}
