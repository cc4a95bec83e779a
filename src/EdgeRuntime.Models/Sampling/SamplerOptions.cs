namespace EdgeRuntime.Models.Sampling;

/// <summary>How <see cref="Sampler"/> picks the next token.</summary>
/// <remarks>
/// Applied in Hugging Face <c>generate</c> order: repetition penalty on the raw logits, then temperature, top-k,
/// top-p, min-p, then a draw. <see cref="Temperature"/> 0 is greedy (argmax after the penalty). Defaults sample the
/// model's own distribution (temperature 1, no truncation, no penalty). Immutable.
/// </remarks>
public sealed record SamplerOptions
{
    /// <summary>Divides the logits; 0 = greedy. Range [0, ∞), default 1.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Keep only the k most likely tokens; 0 = off. Default 0.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus: keep the most likely tokens until their probability reaches p; 1 = off. Range (0, 1], default 1.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Keep tokens with probability ≥ min-p × the top probability; 0 = off. Range [0, 1], default 0.</summary>
    public float MinP { get; init; }

    /// <summary>Hugging Face repetition penalty: each distinct earlier token's logit is divided by it if positive, multiplied if not; 1 = off. Range (0, ∞).</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>Penalise only the last N accepted tokens (llama.cpp <c>repeat_last_n</c>); 0 = every earlier token (Hugging Face). Default 0.</summary>
    public int RepeatLastN { get; init; }

    /// <summary>Seed of the sampler's own PRNG (xoshiro256**), so equal seeds give equal tokens on every platform. Default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>Greedy decoding: argmax, no randomness.</summary>
    public static SamplerOptions Greedy { get; } = new() { Temperature = 0f };

    /// <summary>Whether the choice is deterministic argmax.</summary>
    public bool IsGreedy => Temperature == 0f || TopK == 1;

    /// <summary>Checks every range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its documented range; the message names it.</exception>
    public void Validate()
    {
        if (Problem() is { } problem) throw new ArgumentOutOfRangeException(problem.Name, problem.Message);
    }

    /// <summary>Checks every range without throwing (for request validation).</summary>
    /// <param name="message">Null when valid; otherwise e.g. "sampler: 'TopP' is 2, expected in (0, 1] (1 = off)".</param>
    public bool TryValidate([System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? message)
    {
        message = Problem()?.Message;
        return message is null;
    }

    private (string Name, string Message)? Problem()
    {
        if (!(Temperature >= 0f) || float.IsPositiveInfinity(Temperature)) return Describe(nameof(Temperature), Temperature, "a finite number >= 0");
        if (TopK < 0) return Describe(nameof(TopK), TopK, ">= 0 (0 = off)");
        if (!(TopP > 0f && TopP <= 1f)) return Describe(nameof(TopP), TopP, "in (0, 1] (1 = off)");
        if (!(MinP >= 0f && MinP <= 1f)) return Describe(nameof(MinP), MinP, "in [0, 1] (0 = off)");
        if (!(RepetitionPenalty > 0f) || float.IsPositiveInfinity(RepetitionPenalty)) return Describe(nameof(RepetitionPenalty), RepetitionPenalty, "a finite number > 0 (1 = off)");
        if (RepeatLastN < 0) return Describe(nameof(RepeatLastN), RepeatLastN, ">= 0 (0 = all earlier tokens)");
        return null;
    }

    private static (string, string) Describe(string name, float value, string expected) =>
        (name, $"sampler: '{name}' is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}, expected {expected}");
}
