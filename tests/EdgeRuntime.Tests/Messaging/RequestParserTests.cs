using System.Buffers;
using System.Text;
using EdgeRuntime.Messaging;
using EdgeRuntime.Messaging.Protocol;

namespace EdgeRuntime.Tests.Messaging;

public sealed class RequestParserTests
{
    private static readonly Topics s_topics = new("edge", "n1");
    private static readonly RequestLimits s_limits = new() { MaxPayloadBytes = 1024, MaxPromptTokens = 8, MaxNewTokens = 100 };
    private static readonly ModelCapabilities s_language = new(IsLanguageModel: true, VocabSize: 500, HasTokenizer: false, InputLength: 0);
    private static readonly ModelCapabilities s_withTokenizer = s_language with { HasTokenizer = true };
    private static readonly ModelCapabilities s_sequence = new(IsLanguageModel: false, VocabSize: 0, HasTokenizer: false, InputLength: 3);

    private static ParsedRequest Parse(string json, RequestKind kind = RequestKind.Generate, string? responseTopic = "r/1", byte[]? correlation = null, ModelCapabilities? model = null) =>
        Parse(Encoding.UTF8.GetBytes(json), kind, responseTopic, correlation, model);

    private static ParsedRequest Parse(byte[] payload, RequestKind kind = RequestKind.Generate, string? responseTopic = "r/1", byte[]? correlation = null, ModelCapabilities? model = null) =>
        new RequestParser(s_topics, s_limits, model ?? s_language).Parse(kind, new ReadOnlySequence<byte>(payload), responseTopic, correlation);

    private static void AssertError(ParsedRequest parsed, string code, string says)
    {
        Assert.False(parsed.IsValid, "expected an error");
        Assert.Equal(code, parsed.Error!.Code);
        Assert.Contains(says, parsed.Error.Message);
    }

    [Fact]
    public void Generate_FillsDefaults_WhenOnlyTokensAreGiven()
    {
        var parsed = Parse("{\"tokens\":[1,2,3]}");
        Assert.True(parsed.IsValid, parsed.Error?.Message);
        var spec = parsed.Generate!;
        Assert.Equal([1, 2, 3], spec.Tokens!);
        Assert.Equal(100, spec.MaxTokens); // min(128, Limits:MaxNewTokens)
        Assert.Equal(0.8f, spec.Temperature);
        Assert.Equal(0.95f, spec.TopP);
        Assert.Equal(40, spec.TopK);
        Assert.Empty(spec.Stop);
        Assert.False(spec.IsContinuation);
    }

    [Theory]
    [InlineData("not json", "bad_request", "not valid JSON")]
    [InlineData("", "bad_request", "empty")]
    [InlineData("   ", "bad_request", "empty")]
    [InlineData("42", "bad_request", "a JSON number, expected a JSON object")]
    [InlineData("null", "bad_request", "JSON null")]
    [InlineData("{\"tokens\":[1,2", "bad_request", "not valid JSON")]
    [InlineData("{\"tokens\":\"1 2\"}", "bad_request", "field \"tokens\"")]
    [InlineData("{\"tokens\":[1,\"2\"]}", "bad_request", "field \"tokens\"")]
    [InlineData("{\"tokens\":[1],\"maxTokens\":1.5}", "bad_request", "field \"maxTokens\"")]
    [InlineData("{\"tokens\":[1],\"seed\":-1}", "bad_request", "field \"seed\"")]
    [InlineData("{\"tokens\":[1],\"stop\":\"x\"}", "bad_request", "field \"stop\"")]
    [InlineData("{\"tokens\":[1],\"tokens\":[2]}", "bad_request", "twice")]
    [InlineData("{\"tokens\":[1],\"foo\":1}", "bad_request", "unknown field \"foo\"")]
    [InlineData("{}", "bad_request", "missing field: \"tokens\"")]
    [InlineData("{\"prompt\":\"hi\"}", "bad_request", "this model has no tokenizer; send \"tokens\"")]
    [InlineData("{\"prompt\":\"hi\",\"tokens\":[1]}", "bad_request", "not both")]
    [InlineData("{\"tokens\":[1,500]}", "bad_request", "\"tokens\"[1] is 500, expected a token id in [0, 500)")]
    [InlineData("{\"tokens\":[-1]}", "bad_request", "\"tokens\"[0] is -1")]
    [InlineData("{\"tokens\":[1,2,3,4,5,6,7,8,9]}", "too_large", "at most 8 (Limits:MaxPromptTokens)")]
    [InlineData("{\"tokens\":[1],\"maxTokens\":101}", "bad_request", "expected 0..100")]
    [InlineData("{\"tokens\":[1],\"maxTokens\":-1}", "bad_request", "\"maxTokens\" is -1")]
    [InlineData("{\"tokens\":[1],\"maxTokens\":99999999999}", "bad_request", "field \"maxTokens\"")]
    [InlineData("{\"tokens\":[1],\"temperature\":-0.5}", "bad_request", "\"temperature\" is -0.5")]
    [InlineData("{\"tokens\":[1],\"topP\":0}", "bad_request", "\"topP\"")]
    [InlineData("{\"tokens\":[1],\"topK\":-3}", "bad_request", "\"topK\"")]
    [InlineData("{\"tokens\":[1],\"minP\":2}", "bad_request", "\"minP\"")]
    [InlineData("{\"tokens\":[1],\"repeatPenalty\":0}", "bad_request", "\"repeatPenalty\"")]
    [InlineData("{\"tokens\":[1],\"stop\":[\"a\"]}", "bad_request", "need a tokenizer")]
    [InlineData("{\"tokens\":[1],\"session\":\"../x\"}", "bad_request", "not a valid session id")]
    [InlineData("{\"tokens\":[1],\"session\":\".hidden\"}", "bad_request", "not a valid session id")]
    [InlineData("{\"tokens\":[1],\"reset\":true}", "bad_request", "\"reset\" needs a \"session\"")]
    [InlineData("{\"tokens\":[1],\"id\":\"\"}", "bad_request", "\"id\" has 0 characters")]
    public void Generate_RejectsBadInput_WithATypedError(string json, string code, string says) => AssertError(Parse(json), code, says);

    [Fact]
    public void Generate_RejectsOversizedPayloads_BeforeReadingThem()
    {
        var parsed = Parse(new byte[1025]);
        AssertError(parsed, "too_large", "1025 bytes, expected at most 1024");
        Assert.Equal("r/1", parsed.Reply.Topic);
    }

    [Fact]
    public void Generate_RejectsInvalidUtf8_NamingTheOffset()
    {
        byte[] payload = [.. "{\"tokens\":[1],\"id\":\""u8, 0xFF, .. "\"}"u8];
        AssertError(Parse(payload), "bad_request", "not valid UTF-8 (first bad byte at offset 20)");
    }

    [Fact]
    public void Generate_AcceptsPromptAndStops_WhenTheModelHasATokenizer()
    {
        var parsed = Parse("{\"prompt\":\"Hello\",\"stop\":[\"\\n\\n\"],\"seed\":7,\"session\":\"chat-1\"}", model: s_withTokenizer);
        Assert.True(parsed.IsValid, parsed.Error?.Message);
        Assert.Equal("Hello", parsed.Generate!.Prompt);
        Assert.Equal(["\n\n"], parsed.Generate.Stop);
        Assert.Equal(7UL, parsed.Generate.Seed);
        Assert.Equal("chat-1", parsed.Generate.Session);
    }

    [Fact]
    public void Generate_WithOnlyASession_IsAContinuation()
    {
        var parsed = Parse("{\"session\":\"s1\",\"maxTokens\":3}");
        Assert.True(parsed.IsValid, parsed.Error?.Message);
        Assert.True(parsed.Generate!.IsContinuation);
    }

    [Fact]
    public void Generate_ToASequenceModel_IsUnsupported() =>
        AssertError(Parse("{\"tokens\":[1]}", model: s_sequence), "unsupported", "edge/n1/infer");

    [Fact]
    public void Reply_UsesTheMqtt5ResponseTopicAndCorrelation_AndTakesTheIdFromIt()
    {
        var parsed = Parse("{\"tokens\":[1]}", responseTopic: "client/7/replies", correlation: "req-9"u8.ToArray());
        Assert.Equal("client/7/replies", parsed.Reply.Topic);
        Assert.Equal("req-9"u8.ToArray(), parsed.Reply.CorrelationData);
        Assert.Equal("req-9", parsed.Id);
        Assert.False(parsed.Reply.IsErrorsTopic);
    }

    [Fact]
    public void Reply_IdFromBinaryCorrelationData_IsHex()
    {
        var parsed = Parse("{\"tokens\":[1]}", correlation: [0x00, 0xFF, 0x10]);
        Assert.Equal("00ff10", parsed.Id);
    }

    [Fact]
    public void Reply_Mqtt311Fallback_UsesReplyToAndId()
    {
        var parsed = Parse("{\"tokens\":[1],\"replyTo\":\"legacy/replies\",\"id\":\"a1\"}", responseTopic: null);
        Assert.True(parsed.IsValid, parsed.Error?.Message);
        Assert.Equal("legacy/replies", parsed.Reply.Topic);
        Assert.Equal("a1", parsed.Id);
    }

    [Fact]
    public void Reply_WithoutAnyReplyTopic_IsAnErrorOnTheErrorsTopic()
    {
        var parsed = Parse("{\"tokens\":[1],\"id\":\"x\"}", responseTopic: null);
        AssertError(parsed, "bad_request", "no reply topic");
        Assert.Equal("edge/n1/errors", parsed.Reply.Topic);
        Assert.True(parsed.Reply.IsErrorsTopic);
        Assert.Equal("x", parsed.Id);
    }

    [Fact]
    public void Reply_UnreadableRequest_StillFindsItsReplyToAndId()
    {
        var parsed = Parse("{\"tokens\":\"oops\",\"replyTo\":\"legacy/r\",\"id\":\"b2\"}", responseTopic: null);
        AssertError(parsed, "bad_request", "\"tokens\"");
        Assert.Equal("legacy/r", parsed.Reply.Topic);
        Assert.Equal("b2", parsed.Id);
    }

    [Theory]
    [InlineData("a/#")]
    [InlineData("a/+/b")]
    [InlineData("$SYS/x")]
    [InlineData("edge/n1/status")]
    [InlineData("edge/n1/generate")]
    public void Reply_ForbiddenTopics_AreRefused(string topic)
    {
        var parsed = Parse($"{{\"tokens\":[1],\"replyTo\":\"{topic}\"}}", responseTopic: null);
        AssertError(parsed, "bad_request", "not allowed");
        Assert.Equal("edge/n1/errors", parsed.Reply.Topic);
    }

    [Fact]
    public void Infer_AcceptsStepsOrAFlatList()
    {
        var nested = Parse("{\"values\":[[1,2,3],[4,5,6]],\"session\":\"pump-7\"}", RequestKind.Infer, model: s_sequence);
        var flat = Parse("{\"values\":[1,2,3,4,5,6]}", RequestKind.Infer, model: s_sequence);
        Assert.True(nested.IsValid, nested.Error?.Message);
        Assert.True(flat.IsValid, flat.Error?.Message);
        Assert.Equal(2, nested.Infer!.Steps);
        Assert.Equal([1f, 2, 3, 4, 5, 6], nested.Infer.Inputs);
        Assert.Equal(nested.Infer.Inputs, flat.Infer!.Inputs);
        Assert.Equal("pump-7", nested.Infer.Session);
    }

    [Theory]
    [InlineData("{}", "bad_request", "missing field: \"values\"")]
    [InlineData("{\"values\":[]}", "bad_request", "missing field")]
    [InlineData("{\"values\":[1,2]}", "bad_request", "multiple of the model's input length 3")]
    [InlineData("{\"values\":[[1,2,3],[4,5]]}", "bad_request", "\"values\"[1] has 2 numbers")]
    [InlineData("{\"values\":[1,[2]]}", "bad_request", "\"values\"")]
    [InlineData("{\"values\":[\"a\"]}", "bad_request", "\"values\"")]
    [InlineData("{\"values\":[1e39,0,0]}", "bad_request", "\"values\"")]
    [InlineData("{\"values\":[[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3]]}", "too_large", "9 steps")]
    public void Infer_RejectsBadInput(string json, string code, string says) => AssertError(Parse(json, RequestKind.Infer, model: s_sequence), code, says);

    [Fact]
    public void Infer_ToALanguageModel_IsUnsupported() =>
        AssertError(Parse("{\"values\":[1,2,3]}", RequestKind.Infer), "unsupported", "edge/n1/generate");

    [Fact]
    public void Cancel_NeedsAnId_AndNeedsNoReplyTopic()
    {
        var ok = Parse("{\"id\":\"r1\"}", RequestKind.Cancel, responseTopic: null);
        Assert.True(ok.IsValid);
        Assert.Equal("r1", ok.CancelId);
        Assert.True(ok.Reply.IsErrorsTopic);
        AssertError(Parse("{}", RequestKind.Cancel, responseTopic: null), "bad_request", "missing field: \"id\"");
    }
}
