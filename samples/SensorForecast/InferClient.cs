using System.Text;
using System.Text.Json;
using EdgeRuntime.Messaging.Protocol;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeRuntime.Samples.SensorForecast;

/// <summary>An error reply from the service (<c>"error":{"code","message"}</c>).</summary>
internal sealed class ServiceErrorException(string code, string message) : Exception($"{code}: {message}")
{
    public string Code { get; } = code;
}

/// <summary>The MQTT side: finds a node that serves a sequence model on infer (from the retained status messages) and
/// sends one infer request at a time, waiting for its final message.</summary>
/// <remarks>
/// MQTT 5: the reply topic and the request id go in the ResponseTopic and CorrelationData properties; MQTT 3.1.1: in the
/// payload (<c>replyTo</c>, <c>id</c>). One request in flight at a time, so a session's steps reach the model in order.
/// Not thread-safe (one caller); the receive handler only completes the waiting task.
/// </remarks>
internal sealed class InferClient : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly bool _v311;
    private readonly string _replyTopic;
    private readonly Lock _gate = new();
    private TaskCompletionSource<JsonElement>? _reply;
    private string? _replyId;
    private TaskCompletionSource<string>? _node;
    private string? _wantedNode;
    private readonly List<string> _unsuitable = [];

    private InferClient(IMqttClient client, bool v311, string run)
    {
        _client = client;
        _v311 = v311;
        _replyTopic = $"sensor-forecast/{run}/reply";
        client.ApplicationMessageReceivedAsync += OnMessageAsync;
    }

    /// <summary>Connects and subscribes to this client's reply topic.</summary>
    public static async Task<InferClient> ConnectAsync(string host, int port, bool v311, string run, CancellationToken cancellationToken)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var infer = new InferClient(client, v311, run);
        try
        {
            var options = new MqttClientOptionsBuilder()
                .WithTcpServer(host, port)
                .WithClientId($"sensor-forecast-{run}")
                .WithProtocolVersion(v311 ? MqttProtocolVersion.V311 : MqttProtocolVersion.V500)
                .Build();
            await client.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
            await client.SubscribeAsync(infer._replyTopic, MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken).ConfigureAwait(false);
            return infer;
        }
        catch
        {
            await infer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The id of an online node whose status lists a sequence model on infer (<paramref name="node"/>, or the
    /// first such node); fails when the node (or every node seen) serves none.</summary>
    public async Task<string> FindNodeAsync(string? node, CancellationToken cancellationToken)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _node = found;
            _wantedNode = node;
        }
        await _client.SubscribeAsync($"edge/{node ?? "+"}/status", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken).ConfigureAwait(false);
        return await found.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Feeds one step to <paramref name="session"/> on <paramref name="node"/> and returns the model's output for it.</summary>
    /// <exception cref="ServiceErrorException">The service answered with an error.</exception>
    public async Task<float[]> InferAsync(string node, string session, bool reset, float[] input, string id, CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _reply = reply;
            _replyId = id;
        }
        var request = new InferRequest
        {
            Session = session,
            Reset = reset ? true : null,
            Values = [input],
            Id = _v311 ? id : null,
            ReplyTo = _v311 ? _replyTopic : null,
        };
        var message = new MqttApplicationMessageBuilder()
            .WithTopic($"edge/{node}/infer")
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(request, ProtocolJsonContext.Protocol.InferRequest))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (!_v311) message.WithResponseTopic(_replyTopic).WithCorrelationData(Encoding.UTF8.GetBytes(id));
        await _client.PublishAsync(message.Build(), cancellationToken).ConfigureAwait(false);

        var final = await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (final.TryGetProperty("error", out var error))
            throw new ServiceErrorException(error.GetProperty("code").GetString() ?? "?", error.GetProperty("message").GetString() ?? "");
        if (!final.TryGetProperty("outputs", out var outputs) || outputs.GetArrayLength() != 1)
            throw new InvalidDataException($"the reply to '{id}' has no output row: {final.GetRawText()}");
        return [.. outputs[0].EnumerateArray().Select(x => x.GetSingle())];
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        string topic = e.ApplicationMessage.Topic;
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(e.ApplicationMessage.Payload);
            root = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return Task.CompletedTask; // Not ours (an empty retained status clears it, for instance).
        }
        if (root.ValueKind != JsonValueKind.Object) return Task.CompletedTask;
        if (topic.EndsWith("/status", StringComparison.Ordinal)) OnStatus(topic.Split('/')[^2], root);
        else if (topic == _replyTopic && root.TryGetProperty("done", out var done) && done.ValueKind == JsonValueKind.True)
        {
            string? id = root.TryGetProperty("id", out var i) ? i.GetString() : null;
            lock (_gate)
            {
                // A repeated final message (QoS 1 after a broker restart) of an earlier request is dropped here.
                if (id == _replyId) _reply?.TrySetResult(root);
            }
        }
        return Task.CompletedTask;
    }

    private void OnStatus(string node, JsonElement status)
    {
        if (!status.TryGetProperty("online", out var online) || online.ValueKind != JsonValueKind.True) return;
        TaskCompletionSource<string>? found;
        string? wanted;
        lock (_gate)
        {
            found = _node;
            wanted = _wantedNode;
        }
        if (found is null || (wanted is not null && wanted != node)) return;
        if (ServesInfer(status, out string what))
        {
            found.TrySetResult(node);
            return;
        }
        string problem = $"node '{node}' {what}";
        if (wanted is not null)
        {
            found.TrySetException(new InvalidOperationException(problem));
            return;
        }
        lock (_gate) _unsuitable.Add(problem);
        // Retained status messages of every node arrive together: give a suitable one a moment before giving up.
        _ = Task.Delay(TimeSpan.FromSeconds(1)).ContinueWith(_ =>
        {
            string problems;
            lock (_gate) problems = string.Join("; ", _unsuitable);
            found.TrySetException(new InvalidOperationException(problems + "; or name a node with --node"));
        }, TaskScheduler.Default);
    }

    /// <summary>Whether the birth message lists an infer model of this client's input and output lengths.</summary>
    private static bool ServesInfer(JsonElement status, out string what)
    {
        JsonElement model;
        if (status.TryGetProperty("models", out var models))
        {
            if (!models.TryGetProperty("infer", out model))
            {
                what = "serves no model on infer (its status lists " + string.Join(", ", models.EnumerateObject().Select(m => $"{m.Name}: {Family(m.Value)}"))
                    + "); serve the forecaster beside it with --InferModel:Path=samples/models/aaren-motes.gguf";
                return false;
            }
        }
        else if (!status.TryGetProperty("model", out model) || !model.TryGetProperty("kind", out var kind) || kind.GetString() != "sequence")
        {
            what = "serves a language model only; serve the forecaster beside it with --InferModel:Path=samples/models/aaren-motes.gguf";
            return false;
        }
        int inputs = model.TryGetProperty("inputLength", out var i) ? i.GetInt32() : 0, outputs = model.TryGetProperty("outputLength", out var o) ? o.GetInt32() : 0;
        what = $"serves a {Family(model)} model on infer with {inputs} inputs and {outputs} outputs per step, expected {ForecasterConfig.InputLength} and {ForecasterConfig.OutputLength} (samples/models/aaren-motes.gguf)";
        return inputs == ForecasterConfig.InputLength && outputs == ForecasterConfig.OutputLength;
    }

    private static string Family(JsonElement model) => model.TryGetProperty("family", out var f) ? f.GetString() ?? "?" : "?";

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync().ConfigureAwait(false);
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException)
            {
                // Already gone.
            }
        }
        _client.Dispose();
    }
}
