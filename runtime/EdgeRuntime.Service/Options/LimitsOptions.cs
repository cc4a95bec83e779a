using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Options;

/// <summary>Configuration section <c>Limits</c>: what one request may ask and how much work is held at once.</summary>
/// <remarks>Bound once at start; treat as immutable.</remarks>
public sealed class LimitsOptions : IValidatableObject
{
    /// <summary>The section name.</summary>
    public const string Section = "Limits";

    /// <summary><c>Limits:MaxPayloadBytes</c>: largest request payload; larger gets <c>too_large</c>.</summary>
    [Range(256, 16 * 1024 * 1024)]
    public int MaxPayloadBytes { get; set; } = 65536;

    /// <summary><c>Limits:MaxPromptTokens</c>: most prompt tokens (or infer steps) per request; more gets <c>too_large</c>.</summary>
    [Range(1, 1 << 20)]
    public int MaxPromptTokens { get; set; } = 4096;

    /// <summary><c>Limits:MaxNewTokens</c>: largest <c>maxTokens</c>.</summary>
    [Range(0, 1 << 24)]
    public int MaxNewTokens { get; set; } = 1024;

    /// <summary><c>Limits:QueueLength</c>: requests waiting for a worker; one more gets <c>busy</c> at once.</summary>
    [Range(1, 100000)]
    public int QueueLength { get; set; } = 16;

    /// <summary><c>Limits:ConcurrentSessions</c>: named sessions kept in memory; the least recently used idle ones beyond this are evicted (they stay on disk).</summary>
    [Range(1, 100000)]
    public int ConcurrentSessions { get; set; } = 64;

    /// <summary><c>Limits:Workers</c>: inference workers, i.e. requests running at once (they share the model's thread pool).</summary>
    [Range(1, 64)]
    public int Workers { get; set; } = 2;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ConcurrentSessions < Workers)
            yield return new ValidationResult($"Limits:ConcurrentSessions is {ConcurrentSessions}, expected >= Limits:Workers ({Workers})", [nameof(ConcurrentSessions)]);
    }
}

/// <summary>Validates <see cref="LimitsOptions"/> at start (source-generated).</summary>
[OptionsValidator]
public sealed partial class LimitsOptionsValidator : IValidateOptions<LimitsOptions>;
