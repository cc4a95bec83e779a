namespace EdgeRuntime.Messaging.Protocol;

/// <summary>The retained message on <c>edge/{node}/status</c>: the birth message when online, <c>{"online":false}</c> (Last Will) when not.</summary>
/// <remarks>Immutable.</remarks>
public sealed class StatusMessage
{
    /// <summary>Whether the node is serving.</summary>
    public required bool Online { get; init; }

    /// <summary>The node id.</summary>
    public string? NodeId { get; init; }

    /// <summary>edge-runtime version.</summary>
    public string? Version { get; init; }

    /// <summary>The model served on generate, else the one served on infer (the whole story for a node with one model).</summary>
    public StatusModel? Model { get; init; }

    /// <summary>Every model served, by the topic it answers.</summary>
    public StatusModels? Models { get; init; }

    /// <summary>The request limits in force.</summary>
    public StatusLimits? Limits { get; init; }

    /// <summary>The topics this node listens and answers on.</summary>
    public StatusTopics? Topics { get; init; }

    /// <summary>When the node came online (UTC, ISO 8601).</summary>
    public DateTimeOffset? Since { get; init; }
}

/// <summary>One model in the birth message.</summary>
/// <remarks>Immutable.</remarks>
public sealed class StatusModel
{
    /// <summary>"based", "transnormer" or "aaren".</summary>
    public required string Family { get; init; }

    /// <summary>"language" (generate) or "sequence" (infer).</summary>
    public required string Kind { get; init; }

    /// <summary>Hex SHA-256 fingerprint of the model files (the one session snapshots carry).</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Hyper-parameters.</summary>
    public required Dictionary<string, string> Dimensions { get; init; }

    /// <summary>Number of weights.</summary>
    public long ParameterCount { get; init; }

    /// <summary>Bytes of one session's state.</summary>
    public long StateBytes { get; init; }

    /// <summary>Language models: ids that may be sent in <c>tokens</c> are 0..VocabSize-1.</summary>
    public int? VocabSize { get; init; }

    /// <summary>Language models: the tokenizer's description, or null when there is none (send <c>tokens</c>).</summary>
    public string? Tokenizer { get; init; }

    /// <summary>Sequence models: numbers per input step.</summary>
    public int? InputLength { get; init; }

    /// <summary>Sequence models: numbers per output step.</summary>
    public int? OutputLength { get; init; }
}

/// <summary>The <c>models</c> part of the birth message: which model answers which request topic.</summary>
/// <remarks>Immutable.</remarks>
public sealed class StatusModels
{
    /// <summary>The language model answering <c>generate</c>; absent when generate requests get <c>unsupported</c>.</summary>
    public StatusModel? Generate { get; init; }

    /// <summary>The sequence model answering <c>infer</c>; absent when infer requests get <c>unsupported</c>.</summary>
    public StatusModel? Infer { get; init; }
}

/// <summary>The limits part of the birth message (configuration section <c>Limits</c>).</summary>
/// <remarks>Immutable.</remarks>
public sealed class StatusLimits
{
    /// <summary>Largest request payload, bytes.</summary>
    public int MaxPayloadBytes { get; init; }

    /// <summary>Most prompt tokens (or infer steps) per request.</summary>
    public int MaxPromptTokens { get; init; }

    /// <summary>Largest <c>maxTokens</c>.</summary>
    public int MaxNewTokens { get; init; }

    /// <summary>Requests waiting beyond the running ones before <c>busy</c>.</summary>
    public int QueueLength { get; init; }

    /// <summary>Sessions held in memory (more stay on disk).</summary>
    public int ConcurrentSessions { get; init; }

    /// <summary>Inference workers (requests running at once).</summary>
    public int Workers { get; init; }
}

/// <summary>The topics part of the birth message.</summary>
/// <remarks>Immutable.</remarks>
public sealed class StatusTopics
{
    /// <summary>Generate requests.</summary>
    public required string Generate { get; init; }

    /// <summary>Infer requests.</summary>
    public required string Infer { get; init; }

    /// <summary>Cancel requests.</summary>
    public required string Cancel { get; init; }

    /// <summary>Errors for requests without a reply topic.</summary>
    public required string Errors { get; init; }
}
