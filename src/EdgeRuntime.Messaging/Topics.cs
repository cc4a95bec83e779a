namespace EdgeRuntime.Messaging;

/// <summary>The kinds of request a node accepts, by topic.</summary>
public enum RequestKind
{
    /// <summary><c>edge/{node}/generate</c>.</summary>
    Generate,

    /// <summary><c>edge/{node}/infer</c>.</summary>
    Infer,

    /// <summary><c>edge/{node}/cancel</c>.</summary>
    Cancel,
}

/// <summary>The topic tree of one node: root <c>{prefix}/{nodeId}</c> (default prefix <c>edge</c>).</summary>
/// <remarks>Immutable; safe from any thread.</remarks>
public sealed class Topics
{
    /// <summary>Most characters of a node id.</summary>
    public const int MaxNodeIdLength = 64;

    /// <summary>Creates the topics of <paramref name="nodeId"/> under <paramref name="prefix"/>.</summary>
    /// <exception cref="ArgumentException">The prefix or node id is not a plain topic level (see <see cref="IsValidNodeId"/>).</exception>
    public Topics(string prefix, string nodeId)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(nodeId);
        if (!IsValidPrefix(prefix)) throw new ArgumentException($"topics: prefix '{prefix}': expected non-empty topic levels without '+', '#', '$' or empty levels", nameof(prefix));
        if (!IsValidNodeId(nodeId)) throw new ArgumentException($"topics: node id '{nodeId}': expected 1-{MaxNodeIdLength} characters from A-Z a-z 0-9 . _ -", nameof(nodeId));
        Prefix = prefix;
        NodeId = nodeId;
        Root = $"{prefix}/{nodeId}";
        Status = Root + "/status";
        Generate = Root + "/generate";
        Infer = Root + "/infer";
        Cancel = Root + "/cancel";
        Errors = Root + "/errors";
    }

    /// <summary>The prefix, e.g. <c>edge</c>.</summary>
    public string Prefix { get; }

    /// <summary>The node id.</summary>
    public string NodeId { get; }

    /// <summary><c>{prefix}/{node}</c>.</summary>
    public string Root { get; }

    /// <summary>Retained birth message / Last Will.</summary>
    public string Status { get; }

    /// <summary>Generate requests.</summary>
    public string Generate { get; }

    /// <summary>Infer requests.</summary>
    public string Infer { get; }

    /// <summary>Cancel requests.</summary>
    public string Cancel { get; }

    /// <summary>Error replies for requests that name no reply topic.</summary>
    public string Errors { get; }

    /// <summary>The shared-subscription filter for a fleet: <c>$share/{group}/{prefix}/+/{kind}</c>.</summary>
    public string SharedFilter(string group, RequestKind kind) => $"$share/{group}/{Prefix}/+/{Level(kind)}";

    /// <summary>The request kind of a topic a request arrived on: this node's topics, or any node's under the prefix (shared subscriptions).</summary>
    public RequestKind? Classify(string topic)
    {
        if (topic is null || !topic.StartsWith(Prefix + "/", StringComparison.Ordinal)) return null;
        ReadOnlySpan<char> rest = topic.AsSpan(Prefix.Length + 1);
        int slash = rest.IndexOf('/');
        if (slash <= 0) return null;
        return rest[(slash + 1)..] switch
        {
            "generate" => RequestKind.Generate,
            "infer" => RequestKind.Infer,
            "cancel" => RequestKind.Cancel,
            _ => null,
        };
    }

    /// <summary>Whether replies may be published to <paramref name="topic"/>: a valid MQTT topic name, not a <c>$</c> system topic,
    /// and not one of this node's own request or status topics (which would loop or overwrite the birth message).</summary>
    public bool IsAllowedReplyTopic(string? topic) =>
        IsValidTopicName(topic) && topic![0] != '$' && topic != Status && topic != Generate && topic != Infer && topic != Cancel;

    /// <summary>Whether <paramref name="topic"/> is a valid MQTT topic name to publish to: 1..65535 UTF-8 bytes, no wildcards, no NUL.</summary>
    public static bool IsValidTopicName(string? topic) =>
        !string.IsNullOrEmpty(topic) && topic.Length <= 16384 && System.Text.Encoding.UTF8.GetByteCount(topic) <= 65535 &&
        topic.AsSpan().IndexOfAny('+', '#', '\0') < 0;

    /// <summary>Whether <paramref name="nodeId"/> is 1-64 characters from A-Z a-z 0-9 . _ - (one topic level, safe in file names).</summary>
    public static bool IsValidNodeId(string? nodeId) =>
        !string.IsNullOrEmpty(nodeId) && nodeId.Length <= MaxNodeIdLength && nodeId.AsSpan().IndexOfAnyExcept(s_nodeChars) < 0;

    /// <summary>Makes a node id out of a host name: invalid characters become '-', cut to 64 characters.</summary>
    public static string SanitizeNodeId(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var chars = name.ToCharArray();
        for (int i = 0; i < chars.Length; i++) if (!s_nodeChars.Contains(chars[i])) chars[i] = '-';
        string id = new string(chars).Trim('-');
        if (id.Length > MaxNodeIdLength) id = id[..MaxNodeIdLength];
        return id.Length == 0 ? "node" : id;
    }

    private static bool IsValidPrefix(string prefix) =>
        IsValidTopicName(prefix) && prefix[0] != '$' && prefix.Split('/').All(level => level.Length > 0);

    private static string Level(RequestKind kind) => kind switch
    {
        RequestKind.Generate => "generate",
        RequestKind.Infer => "infer",
        _ => "cancel",
    };

    private static readonly System.Buffers.SearchValues<char> s_nodeChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
}
