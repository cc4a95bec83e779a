using System.Text;
using System.Text.Json;
using MQTTnet.Formatter;

namespace EdgeRuntime.Tests.Service;

/// <summary>End-to-end behaviour every broker must show: run against the embedded broker and against mosquitto.</summary>
public abstract class ServiceScenarios
{
    private readonly IServiceFixture _fixture;

    protected ServiceScenarios(IServiceFixture fixture) => _fixture = fixture;

    private string Root => $"edge/{_fixture.NodeId}";

    private static string ReplyTopic(string what) => $"test/replies/{what}/{Guid.NewGuid():N}";

    [Fact]
    public async Task Generate_StreamsEveryChunkInOrder_WhenAskedOverMqtt5()
    {
        await using var client = await MqttTestClient.ConnectAsync(_fixture.BrokerPort);
        string reply = ReplyTopic("stream");
        await client.SubscribeAsync(reply);
        var stream = client.Expect(reply);
        int[] prompt = Requests.Prompt(1, 12);
        byte[] correlation = Requests.Utf8("req-" + Guid.NewGuid().ToString("N")[..8]);

        await client.PublishAsync($"{Root}/generate", Requests.Tokens(prompt, 40), reply, correlation);
        var result = await stream.WaitAsync();

        result.AssertComplete();
        Assert.Equal(0, result.Duplicates);
        Assert.Equal("length", result.FinishReason);
        Assert.All(result.Messages, m => Assert.Equal(correlation, m.CorrelationData));
        Assert.All(result.Messages, m => Assert.Equal(Encoding.UTF8.GetString(correlation), m.Json.GetProperty("id").GetString()));
        Assert.Equal(GreedyReference.Run(_fixture.ModelPath, prompt, 40), result.Tokens);
        var usage = result.Final.GetProperty("usage");
        Assert.Equal(12, usage.GetProperty("promptTokens").GetInt32());
        Assert.Equal(40, usage.GetProperty("completionTokens").GetInt32());
        Assert.Equal(52, usage.GetProperty("totalTokens").GetInt32());
        var timings = result.Final.GetProperty("timings");
        Assert.True(timings.GetProperty("promptMs").GetDouble() >= 0);
        Assert.True(timings.GetProperty("predictedPerSecond").GetDouble() > 0);
    }

    [Fact]
    public async Task Generate_TwentyConcurrentClients_EachGetTheirOwnCompleteAnswer()
    {
        const int clients = 20, tokens = 12;
        var connections = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => MqttTestClient.ConnectAsync(_fixture.BrokerPort)));
        try
        {
            var prompts = Enumerable.Range(0, clients).Select(i => Requests.Prompt(100 + i, 4 + i % 5)).ToArray();
            var streams = new ReplyStream[clients];
            string[] topics = [.. Enumerable.Range(0, clients).Select(i => ReplyTopic($"c{i}"))];
            for (int i = 0; i < clients; i++)
            {
                await connections[i].SubscribeAsync(topics[i]);
                streams[i] = connections[i].Expect(topics[i]);
            }
            await Task.WhenAll(Enumerable.Range(0, clients).Select(i =>
                connections[i].PublishAsync($"{Root}/generate", Requests.Tokens(prompts[i], tokens), topics[i], Requests.Utf8($"client-{i}"))));
            var results = await Task.WhenAll(streams.Select(s => s.WaitAsync()));

            for (int i = 0; i < clients; i++)
            {
                results[i].AssertComplete();
                Assert.Equal("length", results[i].FinishReason);
                Assert.All(results[i].Messages, m => Assert.Equal($"client-{i}", m.Json.GetProperty("id").GetString()));
                Assert.Equal(GreedyReference.Run(_fixture.ModelPath, prompts[i], tokens), results[i].Tokens);
            }
        }
        finally
        {
            foreach (var c in connections) await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task Cancel_EndsARunningGeneration_WithACancelledFinalMessage()
    {
        await using var client = await MqttTestClient.ConnectAsync(_fixture.BrokerPort);
        string reply = ReplyTopic("cancel");
        await client.SubscribeAsync(reply, $"{Root}/errors");
        var stream = client.Expect(reply);
        string id = "long-" + Guid.NewGuid().ToString("N")[..8];

        await client.PublishAsync($"{Root}/generate", Requests.Tokens([1, 2, 3], 150000), reply, Requests.Utf8(id));
        await stream.WaitForChunksAsync(3);
        await client.PublishAsync($"{Root}/cancel", $"{{\"id\":\"{id}\"}}");
        var result = await stream.WaitAsync();

        result.AssertComplete();
        Assert.Equal("cancelled", result.FinishReason);
        Assert.Null(result.ErrorCode);
        int generated = result.Final.GetProperty("usage").GetProperty("completionTokens").GetInt32();
        Assert.InRange(generated, 3, 149999);
        Assert.Equal(generated, result.Tokens.Length);

        // Cancelling what is not running is an error on the errors topic (the cancel named no reply topic).
        await client.PublishAsync($"{Root}/cancel", "{\"id\":\"no-such-request\"}");
        var error = await client.WaitForAsync($"{Root}/errors", j => j.TryGetProperty("error", out var e) && e.GetProperty("message").GetString()!.Contains("no-such-request"), "not_found");
        Assert.Equal("not_found", error.Json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task BadInput_EveryClassGetsAnErrorReply_AndTheServiceKeepsServing()
    {
        await using var client = await MqttTestClient.ConnectAsync(_fixture.BrokerPort);
        string errors = $"{Root}/errors";
        await client.SubscribeAsync(errors);
        var oversized = "{\"tokens\":[1],\"pad\":\"" + new string('x', _fixture.MaxPayloadBytes) + "\"}";
        var overLimit = Enumerable.Range(0, _fixture.MaxPromptTokens + 1).Select(i => i % 500).ToArray();
        (string Name, byte[] Payload, string Code, string Says)[] cases =
        [
            ("non-JSON", Requests.Utf8("hello, model"), "bad_request", "not valid JSON"),
            ("JSON but not an object", Requests.Utf8("[1,2,3]"), "bad_request", "expected a JSON object"),
            ("empty payload", [], "bad_request", "empty"),
            ("wrong type: tokens", Requests.Utf8("{\"tokens\":\"1 2 3\"}"), "bad_request", "\"tokens\""),
            ("wrong type: maxTokens", Requests.Utf8("{\"tokens\":[1],\"maxTokens\":\"ten\"}"), "bad_request", "\"maxTokens\""),
            ("wrong type: temperature", Requests.Utf8("{\"tokens\":[1],\"temperature\":true}"), "bad_request", "\"temperature\""),
            ("fractional token id", Requests.Utf8("{\"tokens\":[1.5]}"), "bad_request", "\"tokens\""),
            ("token id outside the vocabulary", Requests.Utf8("{\"tokens\":[1,100000]}"), "bad_request", "[0, 500)"),
            ("missing fields", Requests.Utf8("{\"maxTokens\":5}"), "bad_request", "missing field"),
            ("unknown field", Requests.Utf8("{\"tokens\":[1],\"max_tokens\":5}"), "bad_request", "unknown field \"max_tokens\""),
            ("oversized payload", Requests.Utf8(oversized), "too_large", "Limits:MaxPayloadBytes"),
            ("invalid UTF-8", [.. Requests.Utf8("{\"tokens\":[1],\"stop\":[\""), 0xC3, 0x28, .. Requests.Utf8("\"]}")], "bad_request", "UTF-8"),
            ("unknown session", Requests.Utf8("{\"session\":\"never-started\"}"), "not_found", "never-started"),
            ("path traversal in a session id", Requests.Utf8("{\"tokens\":[1],\"session\":\"../../etc/passwd\"}"), "bad_request", "session id"),
            ("prompt over the limit", Requests.Utf8(Requests.Tokens(overLimit, 1)), "too_large", "Limits:MaxPromptTokens"),
            ("absurd maxTokens", Requests.Utf8("{\"tokens\":[1],\"maxTokens\":1000000000}"), "bad_request", "Limits:MaxNewTokens"),
            ("negative maxTokens", Requests.Utf8("{\"tokens\":[1],\"maxTokens\":-5}"), "bad_request", "\"maxTokens\""),
            ("maxTokens beyond int", Requests.Utf8("{\"tokens\":[1],\"maxTokens\":1e40}"), "bad_request", "\"maxTokens\""),
            ("prompt text to a model without tokenizer", Requests.Utf8("{\"prompt\":\"hello\"}"), "bad_request", "this model has no tokenizer; send \"tokens\""),
            ("topP out of range", Requests.Utf8("{\"tokens\":[1],\"topP\":7}"), "bad_request", "\"topP\""),
            ("a wildcard reply topic", Requests.Utf8("{\"tokens\":[1],\"replyTo\":\"a/+/b\"}"), "bad_request", "not allowed"),
            ("the node's own status topic as reply topic", Requests.Utf8($"{{\"tokens\":[1],\"replyTo\":\"{Root}/status\"}}"), "bad_request", "not allowed"),
            ("deeply nested lists for token ids", Requests.Utf8("{\"tokens\":" + new string('[', 100) + new string(']', 100) + "}"), "bad_request", "\"tokens\""),
            ("deeply nested JSON", Requests.Utf8(new string('[', 3000) + new string(']', 3000)), "bad_request", "expected a JSON object"),
        ];

        var failures = new List<string>();
        foreach (var (name, payload, code, says) in cases)
        {
            // MQTT 5 path: the error comes back on the response topic with the correlation data.
            string reply = ReplyTopic("bad");
            await client.SubscribeAsync(reply);
            var stream = client.Expect(reply);
            await client.PublishAsync($"{Root}/generate", payload, reply, Requests.Utf8("bad-" + name));
            var result = await stream.WaitAsync(TimeSpan.FromSeconds(30));
            string? got = result.ErrorCode;
            string message = result.ErrorMessage;
            if (got != code || !message.Contains(says, StringComparison.Ordinal) || result.FinishReason != "error" || result.Chunks.Count > 0)
                failures.Add($"{name}: expected {code} saying '{says}', got {got}: {message} ({result.Final.GetRawText()})");
            Assert.Equal(Requests.Utf8("bad-" + name), result.Messages[0].CorrelationData);
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));

        // Without any reply topic, the error goes to edge/{node}/errors.
        await client.PublishAsync($"{Root}/generate", "{{{not json");
        var onErrors = await client.WaitForAsync(errors, j => j.GetProperty("error").GetProperty("message").GetString()!.Contains("not valid JSON"), "an error for an unparseable request");
        Assert.Equal("bad_request", onErrors.Json.GetProperty("error").GetProperty("code").GetString());
        await client.PublishAsync($"{Root}/generate", Requests.Tokens([1, 2], 3));
        await client.WaitForAsync(errors, j => j.GetProperty("error").GetProperty("message").GetString()!.Contains("no reply topic"), "an error for a request without a reply topic");

        // Each rejected request was logged once.
        foreach (var (name, _, _, _) in cases)
        {
            await _fixture.Service.WaitForOutputAsync(l => l.Contains($"(id bad-{name})", StringComparison.Ordinal), TimeSpan.FromSeconds(10), $"the log line of '{name}'");
            Assert.Equal(1, _fixture.Service.CountLines(l => l.Contains($"(id bad-{name})", StringComparison.Ordinal)));
        }

        // And the service still serves.
        string ok = ReplyTopic("after-bad");
        await client.SubscribeAsync(ok);
        var okStream = client.Expect(ok);
        await client.PublishAsync($"{Root}/generate", Requests.Tokens([5, 6, 7], 5), ok, Requests.Utf8("ok"));
        var okResult = await okStream.WaitAsync();
        okResult.AssertComplete();
        Assert.Equal(GreedyReference.Run(_fixture.ModelPath, [5, 6, 7], 5), okResult.Tokens);
    }

    [Fact]
    public async Task Mqtt311Client_GetsItsAnswer_ThroughReplyToAndId()
    {
        await using var client = await MqttTestClient.ConnectAsync(_fixture.BrokerPort, MqttProtocolVersion.V311);
        string reply = ReplyTopic("v311");
        await client.SubscribeAsync(reply);
        var stream = client.Expect(reply);
        int[] prompt = Requests.Prompt(7, 6);

        await client.PublishAsync($"{Root}/generate", Requests.Tokens(prompt, 9, $"\"replyTo\":\"{reply}\",\"id\":\"abc-311\""));
        var result = await stream.WaitAsync();

        result.AssertComplete();
        Assert.All(result.Messages, m => Assert.Equal("abc-311", m.Json.GetProperty("id").GetString()));
        Assert.Equal(GreedyReference.Run(_fixture.ModelPath, prompt, 9), result.Tokens);

        // Errors reach a 3.1.1 client the same way.
        string errorReply = ReplyTopic("v311-error");
        await client.SubscribeAsync(errorReply);
        var errorStream = client.Expect(errorReply);
        await client.PublishAsync($"{Root}/generate", $"{{\"tokens\":\"oops\",\"replyTo\":\"{errorReply}\",\"id\":\"bad-311\"}}");
        var error = await errorStream.WaitAsync();
        Assert.Equal("bad_request", error.ErrorCode);
        Assert.Equal("bad-311", error.Final.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Status_BirthMessage_IsRetainedWithModelAndLimits()
    {
        await using var client = await MqttTestClient.ConnectAsync(_fixture.BrokerPort);
        await client.SubscribeAsync($"{Root}/status");
        var status = await client.WaitForAsync($"{Root}/status", j => j.GetProperty("online").GetBoolean(), "the birth message");

        Assert.True(status.Retained);
        var json = status.Json;
        Assert.Equal(_fixture.NodeId, json.GetProperty("nodeId").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("version").GetString()));
        Assert.Equal("based", json.GetProperty("model").GetProperty("family").GetString());
        Assert.Equal("language", json.GetProperty("model").GetProperty("kind").GetString());
        Assert.Equal(500, json.GetProperty("model").GetProperty("vocabSize").GetInt32());
        Assert.False(json.GetProperty("model").TryGetProperty("tokenizer", out _));
        Assert.Equal(64, json.GetProperty("model").GetProperty("fingerprint").GetString()!.Length);
        Assert.Equal(_fixture.MaxPayloadBytes, json.GetProperty("limits").GetProperty("maxPayloadBytes").GetInt32());
        Assert.Equal($"{Root}/generate", json.GetProperty("topics").GetProperty("generate").GetString());
    }

    [Fact]
    public async Task Session_ContinuesExactlyWhereItStopped_AcrossRequests()
    {
        await using var client = await MqttTestClient.ConnectAsync(_fixture.BrokerPort);
        string session = "s-" + Guid.NewGuid().ToString("N")[..8];
        int[] prompt = Requests.Prompt(11, 9);
        var generated = new List<int>();
        for (int round = 0; round < 3; round++)
        {
            string reply = ReplyTopic("session");
            await client.SubscribeAsync(reply);
            var stream = client.Expect(reply);
            string body = round == 0 ? Requests.Tokens(prompt, 5, $"\"session\":\"{session}\"") : $"{{\"session\":\"{session}\",\"maxTokens\":5,\"temperature\":0}}";
            await client.PublishAsync($"{Root}/generate", body, reply, Requests.Utf8($"round-{round}"));
            var result = await stream.WaitAsync();
            Assert.True(result.ErrorCode is null, result.Final.GetRawText());
            result.AssertComplete();
            Assert.Equal(session, result.Final.GetProperty("session").GetString());
            Assert.Equal(prompt.Length + 5 * (round + 1), result.Final.GetProperty("position").GetInt64());
            generated.AddRange(result.Tokens);
        }
        Assert.Equal(GreedyReference.Run(_fixture.ModelPath, prompt, 15), generated);
    }
}

/// <summary>The scenarios against the service's embedded MQTTnet broker.</summary>
[Collection(ServiceCollection.Name)]
public sealed class EmbeddedBrokerServiceTests : ServiceScenarios, IClassFixture<EmbeddedServiceFixture>
{
    private readonly EmbeddedServiceFixture _fixture;

    public EmbeddedBrokerServiceTests(EmbeddedServiceFixture fixture) : base(fixture) => _fixture = fixture;

    [Fact]
    public async Task Watchdog_PingsAndAnnouncesReadiness_WhileHealthy()
    {
        string ready = await _fixture.Notify.WaitForAsync(m => m.Contains("READY=1", StringComparison.Ordinal), "READY=1");
        Assert.Contains($"STATUS=serving based on edge/{_fixture.NodeId}", ready);
        int before = _fixture.Notify.Count(m => m == "WATCHDOG=1");
        await _fixture.Notify.WaitForAsync(m => m == "WATCHDOG=1", "two more WATCHDOG=1 pings", skip: before + 1);
    }
}

/// <summary>The scenarios against a real mosquitto broker.</summary>
[Collection(ServiceCollection.Name)]
public sealed class MosquittoServiceTests : ServiceScenarios, IClassFixture<MosquittoServiceFixture>
{
    public MosquittoServiceTests(MosquittoServiceFixture fixture) : base(fixture)
    {
    }
}
