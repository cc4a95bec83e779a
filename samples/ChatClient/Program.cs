// Why: the smallest useful MQTT client of an EdgeRuntime node. It finds a node from its retained status message,
// sends one generate request (MQTT 5 ResponseTopic + CorrelationData, or the 3.1.1 fallback with "replyTo" and "id"
// in the payload) and prints the streamed text as the chunks arrive, then the timings.
//
//   dotnet run --project samples/ChatClient -- "Call me Ishmael" [--host 127.0.0.1] [--port 1883] [--node <id>]
//       [--max-tokens 64] [--temperature 0.8] [--seed 1] [--session <id>] [--mqtt311] [--timeout 60]
using System.Text;
using System.Text.Json;
using EdgeRuntime.Messaging.Protocol;
using MQTTnet;
using MQTTnet.Formatter;

var prompt = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal) && !IsOptionValue(args, a));
if (prompt is null)
{
    Console.Error.WriteLine("usage: chat-client \"prompt\" [--host H] [--port P] [--node ID] [--max-tokens N] [--temperature T] [--seed S] [--session ID] [--mqtt311] [--timeout SECONDS]");
    return 2;
}
string host = Option("--host") ?? "127.0.0.1";
int port = int.Parse(Option("--port") ?? "1883", System.Globalization.CultureInfo.InvariantCulture);
int maxTokens = int.Parse(Option("--max-tokens") ?? "64", System.Globalization.CultureInfo.InvariantCulture);
float temperature = float.Parse(Option("--temperature") ?? "0.8", System.Globalization.CultureInfo.InvariantCulture);
ulong? seed = Option("--seed") is { } s ? ulong.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : null;
int timeoutSeconds = int.Parse(Option("--timeout") ?? "60", System.Globalization.CultureInfo.InvariantCulture);
bool v311 = args.Contains("--mqtt311");

using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
using var client = new MqttClientFactory().CreateMqttClient();
var node = Option("--node");
var status = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
string requestId = Guid.NewGuid().ToString("N")[..12];
string replyTopic = $"edge-client/{requestId}/reply";
int expectedSeq = 0;

client.ApplicationMessageReceivedAsync += e =>
{
    var topic = e.ApplicationMessage.Topic;
    using var doc = JsonDocument.Parse(e.ApplicationMessage.Payload);
    var root = doc.RootElement;
    if (topic.EndsWith("/status", StringComparison.Ordinal))
    {
        if (root.TryGetProperty("online", out var online) && online.GetBoolean()) status.TrySetResult(topic.Split('/')[^2]);
        return Task.CompletedTask;
    }
    int seq = root.TryGetProperty("seq", out var sq) ? sq.GetInt32() : -1;
    if (seq != expectedSeq) Console.Error.WriteLine($"\nchat-client: chunk {seq} arrived, expected {expectedSeq}");
    expectedSeq = seq + 1;
    if (root.TryGetProperty("text", out var text)) Console.Write(text.GetString());
    if (root.TryGetProperty("done", out var d) && d.GetBoolean())
    {
        Console.WriteLine();
        if (root.TryGetProperty("error", out var error))
        {
            Console.Error.WriteLine($"chat-client: error {error.GetProperty("code").GetString()}: {error.GetProperty("message").GetString()}");
            done.TrySetResult(1);
        }
        else
        {
            Console.Error.WriteLine($"chat-client: finish {root.GetProperty("finishReason").GetString()}; " +
                (root.TryGetProperty("timings", out var t) ? t.GetRawText() : ""));
            done.TrySetResult(0);
        }
    }
    return Task.CompletedTask;
};

var options = new MqttClientOptionsBuilder()
    .WithTcpServer(host, port)
    .WithClientId($"chat-client-{requestId}")
    .WithProtocolVersion(v311 ? MqttProtocolVersion.V311 : MqttProtocolVersion.V500)
    .Build();
try
{
    await client.ConnectAsync(options, cts.Token);
    await client.SubscribeAsync(replyTopic, cancellationToken: cts.Token);
    if (node is null)
    {
        await client.SubscribeAsync("edge/+/status", cancellationToken: cts.Token);
        node = await status.Task.WaitAsync(cts.Token);
        Console.Error.WriteLine($"chat-client: node '{node}'");
    }
    var request = new GenerateRequest
    {
        Prompt = prompt,
        MaxTokens = maxTokens,
        Temperature = temperature,
        Seed = seed,
        Session = Option("--session"),
        Id = v311 ? requestId : null,
        ReplyTo = v311 ? replyTopic : null,
    };
    var payload = JsonSerializer.SerializeToUtf8Bytes(request, ProtocolJsonContext.Protocol.GenerateRequest);
    var message = new MqttApplicationMessageBuilder()
        .WithTopic($"edge/{node}/generate")
        .WithPayload(payload)
        .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
    if (!v311) message.WithResponseTopic(replyTopic).WithCorrelationData(Encoding.UTF8.GetBytes(requestId));
    await client.PublishAsync(message.Build(), cts.Token);
    int code = await done.Task.WaitAsync(cts.Token);
    await client.DisconnectAsync();
    return code;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine($"chat-client: no complete answer within {timeoutSeconds} s (is edge-runtime running on {host}:{port}?)");
    return 1;
}
catch (MQTTnet.Exceptions.MqttCommunicationException ex)
{
    Console.Error.WriteLine($"chat-client: cannot reach the broker at {host}:{port}: {ex.Message}");
    return 1;
}

string? Option(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static bool IsOptionValue(string[] args, string a)
{
    int i = Array.IndexOf(args, a);
    return i > 0 && args[i - 1].StartsWith("--", StringComparison.Ordinal) && args[i - 1] != "--mqtt311";
}
