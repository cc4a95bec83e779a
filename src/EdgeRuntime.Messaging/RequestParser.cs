using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using EdgeRuntime.Messaging.Protocol;

namespace EdgeRuntime.Messaging;

/// <summary>Turns a request's bytes and MQTT properties into a validated spec or a typed error; never throws on bad input.</summary>
/// <remarks>
/// <para>Order of checks: payload size (<c>too_large</c>), UTF-8 (<c>bad_request</c>), JSON syntax and a top-level object,
/// field types and unknown fields (source-generated deserialisation), the reply route (MQTT 5 response topic, else the
/// payload's <c>replyTo</c>, else the errors topic), then the request's rules and limits against the model.</para>
/// <para>The id in replies is the payload's <c>id</c>, else the MQTT 5 correlation data read as text (hex when it is
/// not printable UTF-8), else a generated one. Thread-safe: parsing keeps no state.</para>
/// </remarks>
public sealed class RequestParser
{
    private const int MaxIdLength = 128;
    private static readonly UTF8Encoding s_strictUtf8 = new(false, true);

    private readonly Topics _topics;
    private readonly RequestLimits _limits;
    private readonly ModelCapabilities _model;

    /// <summary>Creates a parser for requests to the node of <paramref name="topics"/> serving a model with <paramref name="model"/>'s capabilities.</summary>
    public RequestParser(Topics topics, RequestLimits limits, ModelCapabilities model)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(model);
        _topics = topics;
        _limits = limits;
        _model = model;
    }

    /// <summary>Parses one request.</summary>
    /// <param name="kind">From the topic it arrived on.</param>
    /// <param name="payload">The message payload.</param>
    /// <param name="responseTopic">The MQTT 5 response topic property, or null.</param>
    /// <param name="correlationData">The MQTT 5 correlation data property, or null.</param>
    public ParsedRequest Parse(RequestKind kind, ReadOnlySequence<byte> payload, string? responseTopic, byte[]? correlationData)
    {
        string? correlationId = IdFromCorrelation(correlationData);
        if (payload.Length > _limits.MaxPayloadBytes)
        {
            return Reject(kind, Fallback(responseTopic, correlationData, correlationId), ErrorCodes.TooLarge,
                $"payload is {payload.Length} bytes, expected at most {_limits.MaxPayloadBytes} (Limits:MaxPayloadBytes)");
        }

        byte[] bytes = payload.ToArray();
        if (!Utf8.IsValid(bytes))
        {
            return Reject(kind, Fallback(responseTopic, correlationData, correlationId), ErrorCodes.BadRequest,
                $"payload is not valid UTF-8 (first bad byte at offset {FirstInvalidUtf8(bytes)})");
        }
        if (RootProblem(bytes) is { } rootProblem)
            return Reject(kind, Fallback(responseTopic, correlationData, correlationId), ErrorCodes.BadRequest, rootProblem);

        return kind switch
        {
            RequestKind.Generate => ParseGenerate(bytes, responseTopic, correlationData, correlationId),
            RequestKind.Infer => ParseInfer(bytes, responseTopic, correlationData, correlationId),
            _ => ParseCancel(bytes, responseTopic, correlationData, correlationId),
        };
    }

    private ParsedRequest ParseGenerate(byte[] bytes, string? responseTopic, byte[]? correlation, string? correlationId)
    {
        GenerateRequest request;
        try
        {
            request = JsonSerializer.Deserialize(bytes, ProtocolJsonContext.Protocol.GenerateRequest)!;
        }
        catch (JsonException ex)
        {
            return RejectUnreadable(RequestKind.Generate, bytes, responseTopic, correlation, correlationId, ex, s_generateFields);
        }

        var (route, routeError) = Route(RequestKind.Generate, responseTopic, correlation, request.ReplyTo, request.Id, correlationId);
        if (routeError is not null) return Reject(RequestKind.Generate, route, ErrorCodes.BadRequest, routeError);
        if (!_model.IsLanguageModel)
        {
            return Reject(RequestKind.Generate, route, ErrorCodes.Unsupported,
                $"this node serves a sequence model; send inputs to '{_topics.Infer}' instead of '{_topics.Generate}'");
        }
        if (ValidateGenerate(request) is { } problem) return Reject(RequestKind.Generate, route, problem.Code, problem.Message);

        var spec = new GenerateSpec(
            string.IsNullOrEmpty(request.Prompt) ? null : request.Prompt,
            request.Tokens is { Length: > 0 } ? request.Tokens : null,
            request.MaxTokens ?? Math.Min(GenerateDefaults.MaxTokens, _limits.MaxNewTokens),
            request.Temperature ?? GenerateDefaults.Temperature,
            request.TopP ?? GenerateDefaults.TopP,
            request.TopK ?? GenerateDefaults.TopK,
            request.MinP ?? GenerateDefaults.MinP,
            request.RepeatPenalty ?? GenerateDefaults.RepeatPenalty,
            request.RepeatLastN ?? GenerateDefaults.RepeatLastN,
            request.Seed ?? (ulong)Random.Shared.NextInt64(long.MaxValue),
            request.Stop ?? [],
            request.Session,
            request.Reset ?? false);
        return ParsedRequest.Of(route, spec);
    }

    private ErrorInfo? ValidateGenerate(GenerateRequest r)
    {
        bool hasPrompt = !string.IsNullOrEmpty(r.Prompt);
        bool hasTokens = r.Tokens is { Length: > 0 };
        if (r.Prompt is not null && r.Tokens is not null)
            return Bad("send either \"prompt\" (text) or \"tokens\" (token ids), not both");
        if (!hasPrompt && !hasTokens && r.Session is null)
        {
            return Bad(_model.HasTokenizer
                ? "missing field: \"prompt\" (text) or \"tokens\" (a list of token ids)"
                : "missing field: \"tokens\" (a list of token ids; this model has no tokenizer)");
        }
        if (hasPrompt && !_model.HasTokenizer) return Bad("this model has no tokenizer; send \"tokens\" (a list of token ids) instead of \"prompt\"");
        if (r.Tokens is { } tokens)
        {
            if (tokens.Length > _limits.MaxPromptTokens)
                return new ErrorInfo(ErrorCodes.TooLarge, $"\"tokens\" has {tokens.Length} ids, expected at most {_limits.MaxPromptTokens} (Limits:MaxPromptTokens)");
            for (int i = 0; i < tokens.Length; i++)
            {
                if ((uint)tokens[i] >= (uint)_model.VocabSize)
                    return Bad($"\"tokens\"[{i}] is {tokens[i]}, expected a token id in [0, {_model.VocabSize})");
            }
        }
        if (r.MaxTokens is int maxTokens && (maxTokens < 0 || maxTokens > _limits.MaxNewTokens))
            return Bad($"\"maxTokens\" is {maxTokens}, expected 0..{_limits.MaxNewTokens} (Limits:MaxNewTokens)");
        if (r.Temperature is float t && !(float.IsFinite(t) && t >= 0)) return Bad($"\"temperature\" is {Num(t)}, expected a finite number >= 0 (0 = greedy)");
        if (r.TopP is float p && !(p > 0 && p <= 1)) return Bad($"\"topP\" is {Num(p)}, expected a number in (0, 1] (1 = off)");
        if (r.TopK is int k && k < 0) return Bad($"\"topK\" is {k}, expected an integer >= 0 (0 = off)");
        if (r.MinP is float m && !(m >= 0 && m <= 1)) return Bad($"\"minP\" is {Num(m)}, expected a number in [0, 1] (0 = off)");
        if (r.RepeatPenalty is float rp && !(float.IsFinite(rp) && rp > 0)) return Bad($"\"repeatPenalty\" is {Num(rp)}, expected a finite number > 0 (1 = off)");
        if (r.RepeatLastN is int n && n < 0) return Bad($"\"repeatLastN\" is {n}, expected an integer >= 0 (0 = all)");
        if (r.Stop is { } stops)
        {
            if (stops.Length > 0 && !_model.HasTokenizer) return Bad("\"stop\" strings need a tokenizer; this model has none");
            if (stops.Length > _limits.MaxStopStrings) return Bad($"\"stop\" has {stops.Length} strings, expected at most {_limits.MaxStopStrings}");
            for (int i = 0; i < stops.Length; i++)
            {
                if (string.IsNullOrEmpty(stops[i])) return Bad($"\"stop\"[{i}] is empty, expected a non-empty string");
                if (stops[i].Length > _limits.MaxStopLength) return Bad($"\"stop\"[{i}] has {stops[i].Length} characters, expected at most {_limits.MaxStopLength}");
            }
        }
        if (r.Session is not null && !SessionIds.IsValid(r.Session)) return Bad($"\"session\" '{Clip(r.Session)}' is not a valid session id: expected {SessionIds.Rule}");
        if (r.Reset == true && r.Session is null) return Bad("\"reset\" needs a \"session\"");
        return null;
    }

    private ParsedRequest ParseInfer(byte[] bytes, string? responseTopic, byte[]? correlation, string? correlationId)
    {
        InferRequest request;
        try
        {
            request = JsonSerializer.Deserialize(bytes, ProtocolJsonContext.Protocol.InferRequest)!;
        }
        catch (JsonException ex)
        {
            return RejectUnreadable(RequestKind.Infer, bytes, responseTopic, correlation, correlationId, ex, s_inferFields);
        }

        var (route, routeError) = Route(RequestKind.Infer, responseTopic, correlation, request.ReplyTo, request.Id, correlationId);
        if (routeError is not null) return Reject(RequestKind.Infer, route, ErrorCodes.BadRequest, routeError);
        if (!_model.HasSequenceModel)
        {
            return Reject(RequestKind.Infer, route, ErrorCodes.Unsupported,
                $"this node serves a language model; send prompts to '{_topics.Generate}' instead of '{_topics.Infer}'");
        }
        if (request.Session is not null && !SessionIds.IsValid(request.Session))
            return Reject(RequestKind.Infer, route, ErrorCodes.BadRequest, $"\"session\" '{Clip(request.Session)}' is not a valid session id: expected {SessionIds.Rule}");
        if (request.Reset == true && request.Session is null) return Reject(RequestKind.Infer, route, ErrorCodes.BadRequest, "\"reset\" needs a \"session\"");
        if (request.Values is not { Length: > 0 } values || (values.Length == 1 && values[0].Length == 0))
            return Reject(RequestKind.Infer, route, ErrorCodes.BadRequest, $"missing field: \"values\" (steps of {_model.InputLength} numbers each)");

        int width = _model.InputLength;
        float[] inputs;
        if (values.Length == 1 && values[0].Length != width)
        {
            // One flat list: steps × inputLength numbers.
            if (values[0].Length % width != 0)
                return Reject(RequestKind.Infer, route, ErrorCodes.BadRequest, $"\"values\" has {values[0].Length} numbers, expected a multiple of the model's input length {width}");
            inputs = values[0];
        }
        else
        {
            for (int i = 0; i < values.Length; i++)
            {
                if (values[i].Length != width)
                    return Reject(RequestKind.Infer, route, ErrorCodes.BadRequest, $"\"values\"[{i}] has {values[i].Length} numbers, expected the model's input length {width}");
            }
            inputs = new float[values.Length * width];
            for (int i = 0; i < values.Length; i++) values[i].CopyTo(inputs, i * width);
        }
        int steps = inputs.Length / width;
        if (steps > _limits.MaxPromptTokens)
            return Reject(RequestKind.Infer, route, ErrorCodes.TooLarge, $"\"values\" has {steps} steps, expected at most {_limits.MaxPromptTokens} (Limits:MaxPromptTokens)");
        return ParsedRequest.Of(route, new InferSpec(inputs, steps, request.Session, request.Reset ?? false));
    }

    private ParsedRequest ParseCancel(byte[] bytes, string? responseTopic, byte[]? correlation, string? correlationId)
    {
        CancelRequest request;
        try
        {
            request = JsonSerializer.Deserialize(bytes, ProtocolJsonContext.Protocol.CancelRequest)!;
        }
        catch (JsonException ex)
        {
            return RejectUnreadable(RequestKind.Cancel, bytes, responseTopic, correlation, correlationId, ex, s_cancelFields);
        }
        var (route, routeError) = Route(RequestKind.Cancel, responseTopic, correlation, request.ReplyTo, request.Id, correlationId);
        if (routeError is not null) return Reject(RequestKind.Cancel, route, ErrorCodes.BadRequest, routeError);
        if (string.IsNullOrEmpty(request.Id)) return Reject(RequestKind.Cancel, route, ErrorCodes.BadRequest, "missing field: \"id\" (the id of the request to cancel)");
        return ParsedRequest.OfCancel(route, request.Id);
    }

    /// <summary>Reply route from the MQTT 5 response topic or the payload's replyTo; errors when neither is usable.</summary>
    private (ReplyRoute Route, string? Error) Route(RequestKind kind, string? responseTopic, byte[]? correlation, string? replyTo, string? payloadId, string? correlationId)
    {
        string? idError = null;
        string? id = payloadId;
        if (payloadId is not null && (payloadId.Length == 0 || payloadId.Length > MaxIdLength))
        {
            idError = $"\"id\" has {payloadId.Length} characters, expected 1..{MaxIdLength}";
            id = null;
        }
        id ??= correlationId;

        string? topic = null;
        string? topicError = null;
        string? replyToError = replyTo is not null && !_topics.IsAllowedReplyTopic(replyTo)
            ? $"\"replyTo\" '{Clip(replyTo)}' is not allowed: expected a topic name without wildcards, not starting with '$', and not one of this node's request or status topics"
            : null;
        if (!string.IsNullOrEmpty(responseTopic))
        {
            if (_topics.IsAllowedReplyTopic(responseTopic)) topic = responseTopic;
            else topicError = $"response topic '{Clip(responseTopic)}' is not allowed: expected a topic name without wildcards, not starting with '$', and not one of this node's request or status topics";
        }
        else if (replyTo is not null)
        {
            if (replyToError is null) topic = replyTo;
            else topicError = replyToError;
        }
        else if (kind != RequestKind.Cancel)
        {
            topicError = "no reply topic: set the MQTT 5 response topic property, or \"replyTo\" (and \"id\") in the payload for MQTT 3.1.1";
        }

        if (topic is null)
            return (new ReplyRoute(_topics.Errors, correlation, id, IsErrorsTopic: true), topicError ?? idError);
        id ??= NewId();
        return (new ReplyRoute(topic, correlation, id, IsErrorsTopic: false), idError ?? replyToError);
    }

    /// <summary>A JSON error: find what reply route we can from a loose read, then describe the problem by field.</summary>
    private ParsedRequest RejectUnreadable(RequestKind kind, byte[] bytes, string? responseTopic, byte[]? correlation, string? correlationId, JsonException ex, IReadOnlyDictionary<string, string> fields)
    {
        string? replyTo = null;
        string? id = null;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.TryGetProperty("replyTo", out var r) && r.ValueKind == JsonValueKind.String) replyTo = r.GetString();
            if (doc.RootElement.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String) id = i.GetString();
        }
        catch (JsonException)
        {
            // Syntax errors are described below; the route falls back to the response topic or the errors topic.
        }
        var (route, _) = Route(kind, responseTopic, correlation, replyTo, id, correlationId);
        return Reject(kind, route, ErrorCodes.BadRequest, DescribeJsonError(ex, fields));
    }

    private ReplyRoute Fallback(string? responseTopic, byte[]? correlation, string? correlationId)
    {
        if (!string.IsNullOrEmpty(responseTopic) && _topics.IsAllowedReplyTopic(responseTopic))
            return new ReplyRoute(responseTopic, correlation, correlationId, IsErrorsTopic: false);
        return new ReplyRoute(_topics.Errors, correlation, correlationId, IsErrorsTopic: true);
    }

    private static ParsedRequest Reject(RequestKind kind, ReplyRoute route, string code, string message) => ParsedRequest.Rejected(kind, route, code, message);

    private static ErrorInfo Bad(string message) => new(ErrorCodes.BadRequest, message);

    /// <summary>Null when the payload starts a JSON object; otherwise what it is.</summary>
    private static string? RootProblem(byte[] bytes)
    {
        if (bytes.AsSpan().Trim(" \t\r\n"u8).IsEmpty) return "payload is empty, expected a JSON object";
        var reader = new Utf8JsonReader(bytes);
        try
        {
            if (!reader.Read()) return "payload is empty, expected a JSON object";
        }
        catch (JsonException ex)
        {
            return $"payload is not valid JSON: {Plain(ex.Message)}";
        }
        return reader.TokenType == JsonTokenType.StartObject ? null : $"payload is {Describe(reader.TokenType)}, expected a JSON object";
    }

    internal static string DescribeJsonError(JsonException ex, IReadOnlyDictionary<string, string> fields)
    {
        string message = ex.Message;
        const string unmapped = "The JSON property '";
        if (message.StartsWith(unmapped, StringComparison.Ordinal) && message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            int end = message.IndexOf('\'', unmapped.Length);
            string name = end > unmapped.Length ? message[unmapped.Length..end] : "?";
            return $"unknown field \"{Clip(name)}\"; known fields: {string.Join(", ", fields.Keys.Select(k => "\"" + k + "\""))}";
        }
        if (message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
            return $"a field appears twice{PathSuffix(ex.Path)}";

        // A value of the wrong type: the serializer's message names a .NET type (replaced by what the protocol expects);
        // our converters' messages start with "expected" and say what they found. Anything else is a syntax error.
        bool converter = message.StartsWith("expected", StringComparison.Ordinal);
        bool wrongType = converter || message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal);
        string? field = FieldOf(ex.Path);
        if (wrongType && field is not null && fields.TryGetValue(field, out string? expected))
            return $"field \"{field}\" has the wrong type or value at {ex.Path}: expected {expected}{(converter ? $" ({message})" : "")}";
        return $"payload is not valid JSON: {Plain(message)}";
    }

    private static string? FieldOf(string? path)
    {
        if (path is null || !path.StartsWith("$.", StringComparison.Ordinal)) return null;
        string rest = path[2..];
        int cut = rest.IndexOfAny(['.', '[']);
        return cut < 0 ? rest : rest[..cut];
    }

    private static string PathSuffix(string? path) => path is null || path == "$" ? "" : $" ({path})";

    /// <summary>The exception message without the serializer's type names; keeps line and byte positions.</summary>
    private static string Plain(string message)
    {
        int typeAt = message.IndexOf(" Path:", StringComparison.Ordinal);
        return typeAt > 0 && message.StartsWith("The JSON value", StringComparison.Ordinal) ? message[(typeAt + 1)..] : message;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a JSON string",
        JsonTokenType.Number => "a JSON number",
        JsonTokenType.True or JsonTokenType.False => "a JSON boolean",
        JsonTokenType.Null => "JSON null",
        JsonTokenType.StartArray => "a JSON list",
        _ => token.ToString(),
    };

    private static string? IdFromCorrelation(byte[]? data)
    {
        if (data is null || data.Length == 0) return null;
        if (data.Length <= MaxIdLength && Utf8.IsValid(data))
        {
            string text = s_strictUtf8.GetString(data);
            if (!text.Any(char.IsControl)) return text;
        }
        return Convert.ToHexStringLower(data.AsSpan(0, Math.Min(data.Length, MaxIdLength / 2)));
    }

    private static int FirstInvalidUtf8(byte[] bytes)
    {
        var status = Utf8.ToUtf16(bytes, new char[bytes.Length], out int read, out _, replaceInvalidSequences: false);
        return status == OperationStatus.Done ? -1 : read;
    }

    private static string NewId() => Guid.NewGuid().ToString("N")[..16];

    private static string Num(float value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Clip(string text) => text.Length <= 64 ? text : text[..64] + "...";

    private static readonly Dictionary<string, string> s_generateFields = new()
    {
        ["id"] = "a string",
        ["replyTo"] = "a topic name (string)",
        ["prompt"] = "a string",
        ["tokens"] = "a list of integer token ids",
        ["maxTokens"] = "an integer",
        ["temperature"] = "a number",
        ["topP"] = "a number",
        ["topK"] = "an integer",
        ["minP"] = "a number",
        ["repeatPenalty"] = "a number",
        ["repeatLastN"] = "an integer",
        ["seed"] = "an unsigned 64-bit integer",
        ["stop"] = "a list of strings",
        ["session"] = "a session id (string)",
        ["reset"] = "true or false",
    };

    private static readonly Dictionary<string, string> s_inferFields = new()
    {
        ["id"] = "a string",
        ["replyTo"] = "a topic name (string)",
        ["session"] = "a session id (string)",
        ["reset"] = "true or false",
        ["values"] = "a list of steps, each a list of numbers, or one flat list of numbers",
    };

    private static readonly Dictionary<string, string> s_cancelFields = new()
    {
        ["id"] = "a string",
        ["replyTo"] = "a topic name (string)",
    };
}
