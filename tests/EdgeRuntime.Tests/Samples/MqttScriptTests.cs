using System.Diagnostics;
using System.Globalization;
using System.Text;
using EdgeRuntime.Models.Tokenizers;
using EdgeRuntime.Tests.Service;

namespace EdgeRuntime.Tests.Samples;

/// <summary>samples/mqtt/*.sh (mosquitto_pub/mosquitto_sub, MQTT 5 response topic + correlation data) against the service
/// started with its defaults on its embedded broker. The node id is always discovered from the retained status topic.
/// Expected values come from the models run in this process.</summary>
[Collection(ServiceCollection.Name)]
public sealed class MqttScriptTests(DefaultModelsServiceFixture fixture) : IClassFixture<DefaultModelsServiceFixture>
{
    private static readonly string s_scripts = Path.Combine(TestPaths.Repository, "samples", "mqtt");

    [Fact]
    public async Task StatusScript_PrintsTheRetainedBirthMessage_ListingBothModels()
    {
        var (code, stdout, stderr) = await RunAsync("status.sh");
        Assert.True(code == 0, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        Assert.StartsWith($"edge/{fixture.NodeId}/status {{\"online\":true", stdout, StringComparison.Ordinal);
        Assert.Contains("\"models\":{\"generate\":{\"family\":\"based\"", stdout, StringComparison.Ordinal);
        Assert.Contains("\"infer\":{\"family\":\"aaren\"", stdout, StringComparison.Ordinal);

        (code, stdout, stderr) = await RunAsync("status.sh", ["no-such-node"]);
        Assert.True(code == 1, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        Assert.Contains("no status message on edge/no-such-node/status", stderr);
    }

    [Fact]
    public async Task GenerateScript_StreamsTheGreedyContinuation_OfTheSampleLm()
    {
        var (code, stdout, stderr) = await RunAsync("generate.sh", ["Call me Ishmael"], new() { ["MAX_TOKENS"] = "12", ["TEMPERATURE"] = "0" });
        Assert.True(code == 0, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        Assert.Contains($"generate.sh: node '{fixture.NodeId}'", stderr);
        Assert.Contains("generate.sh: finish length usage {\"promptTokens\":", stderr);

        string lm = TestPaths.SampleModel("based-moby-q8_0.gguf");
        var tokenizer = TokenizerLoader.FromGguf(lm);
        int[] prompt = tokenizer.Encode("Call me Ishmael");
        if (tokenizer.AddBos) prompt = [tokenizer.BosId, .. prompt];
        string expected = tokenizer.Decode(GreedyReference.Run(lm, prompt, 12));
        Assert.Equal(expected + "\n", stdout);

        (code, _, stderr) = await RunAsync("generate.sh");
        Assert.Equal(2, code);
        Assert.Contains("usage: generate.sh \"prompt\"", stderr);
    }

    [Fact]
    public async Task InferScript_AnswersOneReading_AndContinuesASession_LikeTheModelInProcess()
    {
        using var reference = new MotesReference();
        var stream = MotesReference.Streams(MotesReference.HeldOutLines().Skip(1).Take(2))[0];
        float[] inputs = reference.Features(stream.Readings, stream.Indoor);
        float[] expected = reference.Run(inputs);

        // No session: a fresh state, one step.
        var (code, stdout, stderr) = await RunAsync("infer.sh", Step(inputs, 0));
        Assert.True(code == 0, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        AssertOutput(expected.AsSpan(0, 2), stdout);

        // A session: the second reading continues from the first one's state.
        var session = new Dictionary<string, string> { ["SESSION"] = "mote-2-script", ["RESET"] = "1" };
        (code, stdout, stderr) = await RunAsync("infer.sh", Step(inputs, 0), session);
        Assert.True(code == 0, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        session.Remove("RESET");
        (code, stdout, stderr) = await RunAsync("infer.sh", Step(inputs, 1), session);
        Assert.True(code == 0, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        AssertOutput(expected.AsSpan(2, 2), stdout);

        // A service error reply, and a bad argument.
        (code, stdout, stderr) = await RunAsync("infer.sh", ["1", "2"]);
        Assert.True(code == 1, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        Assert.Contains("infer.sh: error bad_request: \"values\" has 2 numbers, expected a multiple of the model's input length 5", stderr);
        (code, _, stderr) = await RunAsync("infer.sh", ["1", "x"]);
        Assert.Equal(1, code);
        Assert.Contains("infer.sh: 'x' is not a number", stderr);
    }

    [Fact]
    public async Task CancelScript_StopsARunningGeneration_AndReportsUnknownIds()
    {
        using var generate = StartScript("generate.sh", ["Call me Ishmael"], new() { ["MAX_TOKENS"] = "1000", ["REQUEST_ID"] = "script-long-1" });
        await generate.WaitForStdoutAsync(text => text.Count(char.IsLetter) >= 20, "20 letters of streamed text");

        var (code, stdout, stderr) = await RunAsync("cancel.sh", ["script-long-1"]);
        Assert.True(code == 0, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        Assert.Contains("cancel.sh: cancel of 'script-long-1' sent", stderr);
        var (genCode, genStderr) = await generate.WaitForExitAsync();
        Assert.True(genCode == 0, $"generate.sh exit {genCode}: {genStderr}");
        Assert.Contains("generate.sh: finish cancelled", genStderr);
        int completion = int.Parse(System.Text.RegularExpressions.Regex.Match(genStderr, "\"completionTokens\":([0-9]+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(completion, 1, 999);

        (code, stdout, stderr) = await RunAsync("cancel.sh", ["script-nothing"]);
        Assert.True(code == 1, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        Assert.Contains("cancel.sh: error not_found: no queued or running request has id 'script-nothing'", stderr);
    }

    private static string[] Step(float[] inputs, int t) => [.. inputs.AsSpan(t * 5, 5).ToArray().Select(x => x.ToString("R", CultureInfo.InvariantCulture))];

    private static void AssertOutput(ReadOnlySpan<float> expected, string stdout)
    {
        string line = stdout.Trim();
        Assert.True(line.StartsWith('[') && line.EndsWith(']'), $"expected one output vector, got '{stdout}'");
        float[] actual = [.. line[1..^1].Split(',').Select(x => float.Parse(x, CultureInfo.InvariantCulture))];
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5, $"output {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    /// <summary>The scripts need bash and the mosquitto clients; a missing one fails the test, saying what to install.</summary>
    private static void RequireTools()
    {
        foreach (string tool in new[] { "bash", "mosquitto_pub", "mosquitto_sub" })
        {
            if (ChildProcess.FindOnPath(tool) is null)
                Assert.Fail($"{tool} is not on PATH; the samples/mqtt scripts need bash and the mosquitto clients: install them with 'apt-get install -y mosquitto-clients' (.ci/run does this in CI)");
        }
    }

    private ProcessStartInfo Script(string name, string[] args, Dictionary<string, string>? environment)
    {
        RequireTools();
        var psi = ChildProcess.Describe("bash", [Path.Combine(s_scripts, name), .. args]);
        psi.Environment.Remove("NODE");
        psi.Environment["MQTT_HOST"] = "127.0.0.1";
        psi.Environment["MQTT_PORT"] = fixture.BrokerPort.ToString(CultureInfo.InvariantCulture);
        psi.Environment["TIMEOUT"] = "120";
        if (environment is not null) foreach (var (k, v) in environment) psi.Environment[k] = v;
        return psi;
    }

    private Task<(int Code, string Stdout, string Stderr)> RunAsync(string name, string[]? args = null, Dictionary<string, string>? environment = null) =>
        ChildProcess.RunAsync(Script(name, args ?? [], environment), TimeSpan.FromMinutes(3));

    private RunningScript StartScript(string name, string[] args, Dictionary<string, string> environment) => new(Process.Start(Script(name, args, environment))!, name);

    /// <summary>A script running in the background whose stdout can be waited on as it streams.</summary>
    private sealed class RunningScript : IDisposable
    {
        private readonly Process _process;
        private readonly string _name;
        private readonly StringBuilder _stdout = new();
        private readonly Task<string> _stderr;
        private readonly Task _reader;
        private readonly Lock _gate = new();
        private readonly List<(Func<string, bool> Match, TaskCompletionSource Done)> _waiters = [];

        public RunningScript(Process process, string name)
        {
            _process = process;
            _name = name;
            _stderr = process.StandardError.ReadToEndAsync();
            _reader = Task.Run(ReadAsync);
        }

        public async Task WaitForStdoutAsync(Func<string, bool> match, string what)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                if (match(_stdout.ToString())) return;
                _waiters.Add((match, done));
            }
            try
            {
                await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
            }
            catch (TimeoutException)
            {
                lock (_gate) Assert.Fail($"{_name}: no {what} within 2 minutes; stdout so far: '{_stdout}'");
            }
        }

        public async Task<(int Code, string Stderr)> WaitForExitAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await _process.WaitForExitAsync(timeout.Token);
            await _reader;
            return (_process.ExitCode, await _stderr);
        }

        private async Task ReadAsync()
        {
            var buffer = new char[256];
            int n;
            while ((n = await _process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (_gate)
                {
                    _stdout.Append(buffer, 0, n);
                    string text = _stdout.ToString();
                    for (int i = _waiters.Count - 1; i >= 0; i--)
                    {
                        if (_waiters[i].Match(text))
                        {
                            _waiters[i].Done.TrySetResult();
                            _waiters.RemoveAt(i);
                        }
                    }
                }
            }
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            _process.Dispose();
        }
    }
}
