using EdgeRuntime.Tests.Service;

namespace EdgeRuntime.Tests.Samples;

/// <summary>The README's pair: the service on the embedded broker serving the shipped sample LM, and samples/ChatClient
/// asking it for a continuation of "Call me Ishmael" over MQTT 5 and over the 3.1.1 fallback.</summary>
[Collection(ServiceCollection.Name)]
public sealed class ChatClientTests
{
    private static Task<(int Code, string Stdout, string Stderr)> RunClientAsync(params string[] args) =>
        ChildProcess.RunAsync(ChildProcess.Describe("dotnet", [Path.Combine(AppContext.BaseDirectory, "chat-client.dll"), .. args]), TimeSpan.FromMinutes(3));

    [Fact]
    public async Task ChatClient_StreamsAContinuation_OverMqtt5And311()
    {
        using var dir = TestPaths.NewTempDir();
        string node = ServiceArgs.Node("chat");
        int port = ServiceProcess.FreePort();
        using var service = ServiceProcess.Start(ServiceArgs.For(node, TestPaths.SampleModel("based-moby-q8_0.gguf"), dir.File("sessions"), $"--Mqtt:EmbeddedPort={port}"));
        await service.WaitUntilServingAsync(node);

        foreach (var protocol in new[] { "--mqtt5", "--mqtt311" })
        {
            var args = new List<string> { "Call me Ishmael", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--max-tokens", "24", "--seed", "7", "--timeout", "150" };
            if (protocol == "--mqtt311") args.Add("--mqtt311");
            var (code, stdout, stderr) = await RunClientAsync([.. args]);
            Assert.True(code == 0, $"{protocol}: exit {code}\nstdout: {stdout}\nstderr: {stderr}\nservice:\n{service.Output}");
            Assert.Contains($"node '{node}'", stderr);
            Assert.Contains("finish length", stderr);
            Assert.DoesNotContain("arrived, expected", stderr);
            // 24 tokens of an 8192-token English BPE: several words of letters.
            int letters = stdout.Count(char.IsLetter);
            Assert.True(letters >= 20, $"{protocol}: too little text streamed: '{stdout}'");
        }
        await ServiceArgs.StopCleanlyAsync(service);
    }
}
