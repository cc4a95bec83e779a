using System.Diagnostics;
using EdgeRuntime.Tests.Service;

namespace EdgeRuntime.Tests.Samples;

/// <summary>The README's pair: the service on the embedded broker serving the shipped sample LM, and samples/ChatClient
/// asking it for a continuation of "Call me Ishmael" over MQTT 5 and over the 3.1.1 fallback.</summary>
[Collection(ServiceCollection.Name)]
public sealed class ChatClientTests
{
    private static string SampleLm()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EdgeRuntime.sln")))
                return Path.Combine(dir.FullName, "samples", "models", "based-moby-q8_0.gguf");
        throw new DirectoryNotFoundException("repository root not found above " + AppContext.BaseDirectory);
    }

    private static (int Code, string Stdout, string Stderr) RunClient(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "chat-client.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), "chat-client did not exit within 3 minutes");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public async Task ChatClient_StreamsAContinuation_OverMqtt5And311()
    {
        using var dir = TestPaths.NewTempDir();
        string node = ServiceArgs.Node("chat");
        int port = ServiceProcess.FreePort();
        using var service = ServiceProcess.Start(ServiceArgs.For(node, SampleLm(), dir.File("sessions"), $"--Mqtt:EmbeddedPort={port}"));
        await service.WaitUntilServingAsync(node);

        foreach (var protocol in new[] { "--mqtt5", "--mqtt311" })
        {
            var args = new List<string> { "Call me Ishmael", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--max-tokens", "24", "--seed", "7", "--timeout", "150" };
            if (protocol == "--mqtt311") args.Add("--mqtt311");
            var (code, stdout, stderr) = RunClient([.. args]);
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
