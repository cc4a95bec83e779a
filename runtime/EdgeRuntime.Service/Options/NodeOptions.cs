using System.ComponentModel.DataAnnotations;
using EdgeRuntime.Messaging;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Options;

/// <summary>Configuration section <c>Edge</c>: who this node is on the bus.</summary>
/// <remarks>Bound once at start; treat as immutable.</remarks>
public sealed class NodeOptions : IValidatableObject
{
    /// <summary>The section name.</summary>
    public const string Section = "Edge";

    /// <summary><c>Edge:NodeId</c>: the node id in topics (default: the host name, with invalid characters replaced by '-').</summary>
    public string? NodeId { get; set; }

    /// <summary><c>Edge:TopicPrefix</c>: topic root is <c>{TopicPrefix}/{NodeId}</c>. Default <c>edge</c>.</summary>
    public string TopicPrefix { get; set; } = "edge";

    /// <summary><c>Edge:StallSeconds</c>: a worker that makes no progress on a request for this long is unhealthy (the watchdog stops). Default 120.</summary>
    [Range(1, 86400)]
    public int StallSeconds { get; set; } = 120;

    /// <summary>The node id in effect.</summary>
    public string EffectiveNodeId => string.IsNullOrEmpty(NodeId) ? Topics.SanitizeNodeId(Environment.MachineName) : NodeId;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(NodeId) && !Topics.IsValidNodeId(NodeId))
            yield return new ValidationResult($"Edge:NodeId '{NodeId}': expected 1-{Topics.MaxNodeIdLength} characters from A-Z a-z 0-9 . _ -", [nameof(NodeId)]);
        if (string.IsNullOrEmpty(TopicPrefix) || TopicPrefix[0] == '$' || TopicPrefix.AsSpan().IndexOfAny('+', '#', '\0') >= 0 || TopicPrefix.Split('/').Any(l => l.Length == 0))
            yield return new ValidationResult($"Edge:TopicPrefix '{TopicPrefix}': expected topic levels without wildcards, '$' or empty levels", [nameof(TopicPrefix)]);
    }
}

/// <summary>Validates <see cref="NodeOptions"/> at start (source-generated).</summary>
[OptionsValidator]
public sealed partial class NodeOptionsValidator : IValidateOptions<NodeOptions>;
