using EdgeRuntime.Models.Sampling;

namespace EdgeRuntime.Models.Generation;

/// <summary>Limits, stops and sampling for one <see cref="Generator"/> round.</summary>
/// <remarks>Immutable.</remarks>
public sealed record GeneratorOptions
{
    /// <summary>How tokens are chosen. Default: temperature 1, no truncation, no penalty, seed 0.</summary>
    public SamplerOptions Sampling { get; init; } = new();

    /// <summary>Most tokens generated per round (after each prompt); finish reason "length" when reached. Default 128.</summary>
    public int MaxTokens { get; init; } = 128;

    /// <summary>Texts that end the round when generated; the stop text itself is not emitted. Default none.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Stop at the tokenizer's EOS id (not emitted). Default true.</summary>
    public bool StopOnEos { get; init; } = true;

    /// <summary>More ids that end the round (not emitted), e.g. a chat model's end-of-turn id. Default none.</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];

    /// <summary>Tokens per prefill call while appending a prompt; cancellation is checked between calls. Default 512.</summary>
    public int PromptChunk { get; init; } = 512;

    /// <summary>Checks ranges.</summary>
    /// <exception cref="ArgumentException">A value is out of range or a stop string is empty; the message names it.</exception>
    public void Validate()
    {
        if (!TryValidate(out string? message)) throw new ArgumentException(message);
    }

    /// <summary>Checks ranges without throwing (for request validation).</summary>
    /// <param name="message">Null when valid; otherwise what is wrong, naming the option.</param>
    public bool TryValidate([System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? message)
    {
        message = Sampling is null ? "generator: 'Sampling' is null"
            : !Sampling.TryValidate(out string? samplingProblem) ? samplingProblem
            : MaxTokens < 0 ? $"generator: 'MaxTokens' is {MaxTokens}, expected >= 0"
            : PromptChunk < 1 ? $"generator: 'PromptChunk' is {PromptChunk}, expected >= 1"
            : StopStrings is null || StopTokens is null ? "generator: 'StopStrings' and 'StopTokens' must not be null"
            : StopStrings.Any(string.IsNullOrEmpty) ? "generator: a stop string is empty"
            : null;
        return message is null;
    }
}
