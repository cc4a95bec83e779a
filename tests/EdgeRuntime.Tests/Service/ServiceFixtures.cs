using System.Net.Sockets;
using System.Text;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Tests.Service;

/// <summary>Service end-to-end tests run one at a time (each starts real processes; the machine may have 2 cores).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServiceCollection
{
    public const string Name = "service processes";
}

/// <summary>A running edge-runtime process and the broker it serves on.</summary>
public interface IServiceFixture
{
    string NodeId { get; }

    int BrokerPort { get; }

    string ModelPath { get; }

    int MaxPayloadBytes { get; }

    int MaxPromptTokens { get; }

    internal ServiceProcess Service { get; }
}

/// <summary>Common arguments and checks for service processes started by tests.</summary>
internal static class ServiceArgs
{
    public static string BasedTiny => TestPaths.Golden("based-tiny");

    public static List<string> For(string nodeId, string model, string sessions, params string[] extra) =>
    [
        $"--Model:Path={model}",
        $"--Edge:NodeId={nodeId}",
        $"--Sessions:Directory={sessions}",
        "--Model:Threads=1",
        "--Mqtt:ReconnectMinMilliseconds=100",
        "--Mqtt:ReconnectMaxMilliseconds=1000",
        .. extra,
    ];

    /// <summary>Stops the service gracefully and fails on a bad exit or any error logged during the tests.</summary>
    public static async Task StopCleanlyAsync(ServiceProcess service)
    {
        int code = await service.StopAsync(TimeSpan.FromSeconds(30));
        Assert.True(code == 0, $"edge-runtime exited with {code}:\n{service.Output}");
        var errors = service.Output.Split('\n').Where(l => l.Contains(" fail: ", StringComparison.Ordinal) || l.Contains(" crit: ", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, "edge-runtime logged errors:\n" + string.Join('\n', errors));
    }

    public static string Node(string kind) => $"{kind}-{Guid.NewGuid().ToString("N")[..8]}";
}

/// <summary>The service on its embedded broker (the default), on a free port, with a systemd notify socket to listen on.</summary>
public sealed class EmbeddedServiceFixture : IServiceFixture, IAsyncLifetime
{
    private readonly TempDir _dir = TestPaths.NewTempDir();
    private ServiceProcess? _service;

    public string NodeId { get; } = ServiceArgs.Node("emb");

    public int BrokerPort { get; private set; }

    public string ModelPath => ServiceArgs.BasedTiny;

    public int MaxPayloadBytes => 8192;

    public int MaxPromptTokens => 64;

    ServiceProcess IServiceFixture.Service => _service!;

    /// <summary>The service's sd_notify messages.</summary>
    internal NotifyListener Notify { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        string socketPath = _dir.File("notify.sock");
        Notify = new NotifyListener(socketPath);
        (_service, BrokerPort) = await ServiceProcess.StartEmbeddedAsync(NodeId, _ => ServiceArgs.For(NodeId, ModelPath, _dir.File("sessions"),
            "--Limits:QueueLength=32", "--Limits:Workers=2", "--Limits:MaxNewTokens=200000",
            $"--Limits:MaxPayloadBytes={MaxPayloadBytes}", $"--Limits:MaxPromptTokens={MaxPromptTokens}"),
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "400000" });
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_service is { HasExited: false }) await ServiceArgs.StopCleanlyAsync(_service);
        }
        finally
        {
            _service?.Dispose();
            Notify.Dispose();
            _dir.Dispose();
        }
    }
}

/// <summary>The service as README.md starts it: from the repository root with no model configured, so it serves its
/// bundled defaults, the sample LM (samples/models/based-moby-q8_0.gguf) on generate and the sample forecaster
/// (samples/models/aaren-motes.gguf) on infer, on its embedded broker (a free port, one model thread).</summary>
public sealed class DefaultModelsServiceFixture : IAsyncLifetime
{
    private readonly TempDir _dir = TestPaths.NewTempDir();
    private ServiceProcess? _service;

    public string NodeId { get; } = ServiceArgs.Node("defaults");

    public int BrokerPort { get; private set; }

    /// <summary>Sessions:Directory of the service.</summary>
    public string SessionsDirectory => _dir.File("sessions");

    internal ServiceProcess Service => _service!;

    public async Task InitializeAsync()
    {
        (_service, BrokerPort) = await ServiceProcess.StartEmbeddedAsync(NodeId,
            _ => [$"--Edge:NodeId={NodeId}", $"--Sessions:Directory={SessionsDirectory}", "--Model:Threads=1"],
            workingDirectory: TestPaths.Repository);
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_service is { HasExited: false }) await ServiceArgs.StopCleanlyAsync(_service);
        }
        finally
        {
            _service?.Dispose();
            _dir.Dispose();
        }
    }
}

/// <summary>Receives sd_notify datagrams the way systemd does, continuously, and lets tests wait for one.</summary>
internal sealed class NotifyListener : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _messages = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly Lock _gate = new();

    public NotifyListener(string path)
    {
        _socket.Bind(new UnixDomainSocketEndPoint(path));
        _ = Task.Run(ReceiveAsync);
    }

    public int Count(Func<string, bool> match)
    {
        lock (_gate) return _messages.Count(match);
    }

    public async Task<string> WaitForAsync(Func<string, bool> match, string what, int skip = 0)
    {
        TaskCompletionSource<string> done;
        lock (_gate)
        {
            var seen = _messages.Where(match).Skip(skip).FirstOrDefault();
            if (seen is not null) return seen;
            done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            int remaining = skip - _messages.Count(match);
            _waiters.Add((m => match(m) && remaining-- <= 0, done));
        }
        try
        {
            return await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            lock (_gate) throw new TimeoutException($"no sd_notify message {what}; got: {string.Join(" | ", _messages.TakeLast(10))}");
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                string message = Encoding.UTF8.GetString(buffer, 0, n);
                lock (_gate)
                {
                    _messages.Add(message);
                    for (int i = _waiters.Count - 1; i >= 0; i--)
                    {
                        if (_waiters[i].Match(message))
                        {
                            _waiters[i].Done.TrySetResult(message);
                            _waiters.RemoveAt(i);
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }
}

/// <summary>The service connected to a real mosquitto broker started by the fixture, coalescing chunks (3 ms).</summary>
public sealed class MosquittoServiceFixture : IServiceFixture, IAsyncLifetime
{
    private readonly TempDir _dir = TestPaths.NewTempDir();
    private MosquittoBroker? _broker;
    private ServiceProcess? _service;

    public string NodeId { get; } = ServiceArgs.Node("mosq");

    public int BrokerPort => _broker!.Port;

    public string ModelPath => ServiceArgs.BasedTiny;

    public int MaxPayloadBytes => 8192;

    public int MaxPromptTokens => 64;

    ServiceProcess IServiceFixture.Service => _service!;

    public async Task InitializeAsync()
    {
        _broker = new MosquittoBroker();
        await _broker.StartAsync();
        var args = ServiceArgs.For(NodeId, ModelPath, _dir.File("sessions"),
            $"--Mqtt:Broker=127.0.0.1:{_broker.Port}", "--Mqtt:ChunkFlushMilliseconds=3", "--Limits:QueueLength=32", "--Limits:Workers=2", "--Limits:MaxNewTokens=200000",
            $"--Limits:MaxPayloadBytes={MaxPayloadBytes}", $"--Limits:MaxPromptTokens={MaxPromptTokens}");
        _service = ServiceProcess.Start(args);
        await _service.WaitUntilServingAsync(NodeId);
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_service is { HasExited: false }) await ServiceArgs.StopCleanlyAsync(_service);
        }
        finally
        {
            _service?.Dispose();
            _broker?.Dispose();
            _dir.Dispose();
        }
    }
}

/// <summary>An independent greedy run: the model's own prefill and step through <see cref="InferenceSession"/> and a plain argmax.</summary>
internal static class GreedyReference
{
    private static readonly Dictionary<string, ILanguageModel> s_models = [];
    private static readonly Lock s_gate = new();

    /// <summary>The <paramref name="count"/> tokens greedy decoding picks after <paramref name="prompt"/>.</summary>
    public static int[] Run(string modelPath, int[] prompt, int count)
    {
        ILanguageModel model;
        lock (s_gate)
        {
            if (!s_models.TryGetValue(modelPath, out model!))
                s_models[modelPath] = model = (ILanguageModel)ModelLoader.Load(modelPath, new ModelOptions { Threads = 1 });
        }
        lock (model)
        {
            using var session = new InferenceSession(model);
            session.Append(prompt);
            var tokens = new int[count];
            for (int i = 0; i < count; i++)
            {
                var logits = session.Logits[..model.VocabSize];
                int best = 0;
                for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
                tokens[i] = best;
                if (i + 1 < count) session.Step(best);
            }
            return tokens;
        }
    }
}

/// <summary>Request payload helpers.</summary>
internal static class Requests
{
    public static string Tokens(IEnumerable<int> tokens, int maxTokens, string extra = "") =>
        $"{{\"tokens\":[{string.Join(',', tokens)}],\"maxTokens\":{maxTokens},\"temperature\":0{(extra.Length > 0 ? "," + extra : "")}}}";

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>A deterministic prompt of <paramref name="length"/> ids in [0, 500).</summary>
    public static int[] Prompt(int seed, int length)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => random.Next(500))];
    }
}
