using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeRuntime.Tests.Service;

/// <summary>One received message: topic, parsed JSON payload, MQTT 5 correlation data.</summary>
internal sealed record Received(string Topic, JsonElement Json, byte[]? CorrelationData, bool Retained);

/// <summary>A test MQTT client (MQTTnet): subscribes, publishes, and waits for messages with TaskCompletionSource + timeouts.</summary>
internal sealed class MqttTestClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private readonly IMqttClient _client;
    private readonly ConcurrentDictionary<string, ReplyStream> _streams = new(StringComparer.Ordinal);
    private readonly List<Received> _messages = [];
    private readonly List<(Func<Received, bool> Match, TaskCompletionSource<Received> Done)> _waiters = [];
    private readonly Lock _gate = new();
    private MqttClientOptions? _options;

    private MqttTestClient(IMqttClient client) => _client = client;

    public bool IsConnected => _client.IsConnected;

    public static async Task<MqttTestClient> ConnectAsync(int port, MqttProtocolVersion version = MqttProtocolVersion.V500, string? clientId = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var test = new MqttTestClient(client);
        client.ApplicationMessageReceivedAsync += test.OnMessageAsync;
        test._options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithProtocolVersion(version)
            .WithClientId(clientId ?? "test-" + Guid.NewGuid().ToString("N")[..12])
            .WithCleanStart(true)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();
        await client.ConnectAsync(test._options);
        return test;
    }

    /// <summary>Connects again after the broker went away (clean start: subscriptions are made again by the caller).</summary>
    public async Task ReconnectAsync()
    {
        if (_client.IsConnected) return;
        await _client.ConnectAsync(_options!);
    }

    public async Task SubscribeAsync(params string[] filters)
    {
        var options = new MqttClientSubscribeOptionsBuilder();
        foreach (string f in filters) options.WithTopicFilter(f, MqttQualityOfServiceLevel.AtLeastOnce);
        var result = await _client.SubscribeAsync(options.Build());
        foreach (var item in result.Items)
            Assert.True((int)item.ResultCode <= 2, $"subscription to '{item.TopicFilter.Topic}' refused: {item.ResultCode}");
    }

    /// <summary>Collects the reply stream on <paramref name="topic"/> (call before publishing the request).</summary>
    public ReplyStream Expect(string topic) => _streams.GetOrAdd(topic, t => new ReplyStream(t));

    public Task PublishAsync(string topic, string payload, string? responseTopic = null, byte[]? correlation = null) =>
        PublishAsync(topic, Encoding.UTF8.GetBytes(payload), responseTopic, correlation);

    public async Task PublishAsync(string topic, byte[] payload, string? responseTopic = null, byte[]? correlation = null)
    {
        var builder = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (responseTopic is not null) builder.WithResponseTopic(responseTopic);
        if (correlation is not null) builder.WithCorrelationData(correlation);
        await _client.PublishAsync(builder.Build());
    }

    /// <summary>Waits for a message on <paramref name="topic"/> (already received or future) that matches.</summary>
    public async Task<Received> WaitForAsync(string topic, Func<JsonElement, bool> match, string what, TimeSpan? timeout = null)
    {
        TaskCompletionSource<Received> done;
        Func<Received, bool> predicate = r => r.Topic == topic && match(r.Json);
        lock (_gate)
        {
            foreach (var r in _messages) if (predicate(r)) return r;
            done = new TaskCompletionSource<Received>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((predicate, done));
        }
        try
        {
            return await done.Task.WaitAsync(timeout ?? DefaultTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out waiting for {what} on '{topic}'; received: {string.Join("\n", Messages(topic).Select(m => m.Json.GetRawText()))}");
        }
    }

    public IReadOnlyList<Received> Messages(string topic)
    {
        lock (_gate) return _messages.Where(m => m.Topic == topic).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_client.IsConnected) await _client.DisconnectAsync(new MqttClientDisconnectOptions());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The broker may be gone already.
        }
        _client.Dispose();
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs args)
    {
        var message = args.ApplicationMessage;
        JsonElement json;
        try
        {
            using var doc = JsonDocument.Parse(message.Payload.ToArray());
            json = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            json = JsonDocument.Parse(JsonSerializer.Serialize($"<not JSON: {ex.Message}: {Encoding.UTF8.GetString(message.Payload.ToArray())}>")).RootElement.Clone();
        }
        var received = new Received(message.Topic, json, message.CorrelationData, message.Retain);
        if (_streams.TryGetValue(message.Topic, out var stream)) stream.Add(received);
        lock (_gate)
        {
            _messages.Add(received);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(received))
                {
                    _waiters[i].Done.TrySetResult(received);
                    _waiters.RemoveAt(i);
                }
            }
        }
        return Task.CompletedTask;
    }
}

/// <summary>The replies to one request on one topic: chunks by seq (a repeated seq is a QoS 1 duplicate), then the final message.</summary>
internal sealed class ReplyStream
{
    private readonly List<Received> _all = [];
    private readonly TaskCompletionSource<ReplyResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(int Count, TaskCompletionSource Done)> _chunkWaiters = [];
    private readonly Lock _gate = new();

    public ReplyStream(string topic) => Topic = topic;

    public string Topic { get; }

    public void Add(Received message)
    {
        lock (_gate)
        {
            _all.Add(message);
            int chunks = _all.Count(m => !IsFinal(m.Json));
            for (int i = _chunkWaiters.Count - 1; i >= 0; i--)
            {
                if (chunks >= _chunkWaiters[i].Count)
                {
                    _chunkWaiters[i].Done.TrySetResult();
                    _chunkWaiters.RemoveAt(i);
                }
            }
            if (IsFinal(message.Json)) _done.TrySetResult(new ReplyResult([.. _all]));
        }
    }

    public Task WaitForChunksAsync(int count, TimeSpan? timeout = null)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (_all.Count(m => !IsFinal(m.Json)) >= count) return Task.CompletedTask;
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _chunkWaiters.Add((count, done));
        }
        return Wrap(done.Task, timeout, $"{count} chunk(s)");
    }

    public int ReceivedCount
    {
        get { lock (_gate) return _all.Count; }
    }

    public async Task<ReplyResult> WaitAsync(TimeSpan? timeout = null)
    {
        try
        {
            return await _done.Task.WaitAsync(timeout ?? MqttTestClient.DefaultTimeout);
        }
        catch (TimeoutException)
        {
            string got;
            lock (_gate) got = string.Join("\n", _all.TakeLast(5).Select(m => m.Json.GetRawText()));
            throw new TimeoutException($"no final message on '{Topic}' within {(timeout ?? MqttTestClient.DefaultTimeout).TotalSeconds} s; {ReceivedCount} messages, last: {got}");
        }
    }

    private async Task Wrap(Task task, TimeSpan? timeout, string what)
    {
        try
        {
            await task.WaitAsync(timeout ?? MqttTestClient.DefaultTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out waiting for {what} on '{Topic}' ({ReceivedCount} messages so far)");
        }
    }

    internal static bool IsFinal(JsonElement json) => json.ValueKind == JsonValueKind.Object && json.TryGetProperty("done", out var d) && d.ValueKind == JsonValueKind.True;
}

/// <summary>A finished reply stream.</summary>
internal sealed class ReplyResult
{
    public ReplyResult(IReadOnlyList<Received> messages)
    {
        Messages = messages;
        Final = messages.Last(m => ReplyStream.IsFinal(m.Json)).Json;
        var bySeq = new SortedDictionary<int, JsonElement>();
        foreach (var m in messages.Where(m => !ReplyStream.IsFinal(m.Json)))
        {
            int seq = m.Json.GetProperty("seq").GetInt32();
            if (!bySeq.TryAdd(seq, m.Json)) Duplicates++;
        }
        Chunks = [.. bySeq.Values];
        ArrivalOrder = [.. messages.Select(m => m.Json.GetProperty("seq").GetInt32())];
    }

    public IReadOnlyList<Received> Messages { get; }

    public JsonElement Final { get; }

    /// <summary>Chunks in seq order, duplicates removed.</summary>
    public IReadOnlyList<JsonElement> Chunks { get; }

    public int Duplicates { get; }

    public IReadOnlyList<int> ArrivalOrder { get; }

    public string FinishReason => Final.GetProperty("finishReason").GetString()!;

    public string? ErrorCode => Final.TryGetProperty("error", out var e) ? e.GetProperty("code").GetString() : null;

    public string ErrorMessage => Final.TryGetProperty("error", out var e) ? e.GetProperty("message").GetString()! : "";

    public int[] Tokens => [.. Chunks.SelectMany(c => c.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()))];

    public string Text => string.Concat(Chunks.Select(c => c.GetProperty("text").GetString()));

    /// <summary>Asserts seq runs 0..n-1 over the chunks with no gap, the final message takes n, and nothing arrived out of order.</summary>
    public void AssertComplete()
    {
        for (int i = 0; i < Chunks.Count; i++)
            Assert.True(Chunks[i].GetProperty("seq").GetInt32() == i, $"chunk seq gap: position {i} has seq {Chunks[i].GetProperty("seq").GetInt32()}; arrival order {string.Join(",", ArrivalOrder)}");
        Assert.Equal(Chunks.Count, Final.GetProperty("seq").GetInt32());
        AssertInOrder();
    }

    /// <summary>Asserts messages never went backwards (a QoS 1 redelivery may repeat the latest seqs, never reorder).</summary>
    public void AssertInOrder()
    {
        int highest = -1;
        var seen = new HashSet<int>();
        foreach (int seq in ArrivalOrder)
        {
            Assert.True(seq > highest || seen.Contains(seq), $"seq {seq} arrived after {highest} and was never seen before: reordered ({string.Join(",", ArrivalOrder)})");
            seen.Add(seq);
            highest = Math.Max(highest, seq);
        }
    }
}
