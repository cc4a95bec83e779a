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
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <exception cref="ArgumentException">A stop string is empty.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Sampling);
        Sampling.Validate();
        if (MaxTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, $"generator: 'MaxTokens' is {MaxTokens}, expected >= 0");
        if (PromptChunk < 1) throw new ArgumentOutOfRangeException(nameof(PromptChunk), PromptChunk, $"generator: 'PromptChunk' is {PromptChunk}, expected >= 1");
        ArgumentNullException.ThrowIfNull(StopStrings);
        ArgumentNullException.ThrowIfNull(StopTokens);
        foreach (string stop in StopStrings)
        {
            if (string.IsNullOrEmpty(stop)) throw new ArgumentException("generator: a stop string is empty", nameof(StopStrings));
        }
    }
}
