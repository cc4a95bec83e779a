using System.Text.Json;

namespace EdgeRuntime.Tests.Service;

/// <summary>The service process is killed (SIGKILL) and started again: the Last Will, then durable sessions.</summary>
[Collection(ServiceCollection.Name)]
public sealed class ProcessRestartTests
{
    [Fact]
    public async Task ServiceKilled_LastWillSaysOffline_AndANamedSessionContinuesExactlyAfterRestart()
    {
        using var broker = new MosquittoBroker();
        await broker.StartAsync();
        using var dir = TestPaths.NewTempDir();
        string node = ServiceArgs.Node("durable");
        string root = $"edge/{node}";
        var args = ServiceArgs.For(node, ServiceArgs.BasedTiny, dir.File("sessions"), $"--Mqtt:Broker=127.0.0.1:{broker.Port}");
        int[] prompt = Requests.Prompt(2024, 10);
        const int first = 7, second = 9;

        await using var client = await MqttTestClient.ConnectAsync(broker.Port);
        await client.SubscribeAsync($"{root}/status", "durable/one", "durable/two", "durable/bad");
        var one = client.Expect("durable/one");
        var two = client.Expect("durable/two");
        var bad = client.Expect("durable/bad");

        using (var service = ServiceProcess.Start(args))
        {
            await service.WaitUntilServingAsync(node);
            await client.WaitForAsync($"{root}/status", j => j.GetProperty("online").GetBoolean(), "the birth message");
            await client.PublishAsync($"{root}/generate", Requests.Tokens(prompt, first, "\"session\":\"conv-1\""), "durable/one", Requests.Utf8("one"));
            var r1 = await one.WaitAsync();
            r1.AssertComplete();
            Assert.Equal(prompt.Length + first, r1.Final.GetProperty("position").GetInt64());

            // A second session whose snapshot we will damage while the service is down.
            await client.SubscribeAsync("durable/other");
            var other = client.Expect("durable/other");
            await client.PublishAsync($"{root}/generate", Requests.Tokens([1, 2], 2, "\"session\":\"conv-2\""), "durable/other", Requests.Utf8("other"));
            await other.WaitAsync();

            service.Kill();
            Assert.NotEqual(0, await service.Exited);
        }

        // The broker published the Last Will: offline, retained (a new subscriber sees it).
        await client.WaitForAsync($"{root}/status", j => !j.GetProperty("online").GetBoolean(), "the Last Will");
        await using (var late = await MqttTestClient.ConnectAsync(broker.Port))
        {
            await late.SubscribeAsync($"{root}/status");
            var will = await late.WaitForAsync($"{root}/status", _ => true, "the retained status");
            Assert.True(will.Retained);
            Assert.Equal("{\"online\":false}", will.Json.GetRawText());
        }

        string damaged = Path.Combine(dir.File("sessions"), "conv-2.snap");
        byte[] bytes = File.ReadAllBytes(damaged);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(damaged, bytes);

        var restarted = DateTimeOffset.UtcNow;
        using (var service = ServiceProcess.Start(args))
        {
            await service.WaitUntilServingAsync(node);
            await client.WaitForAsync($"{root}/status", j => j.GetProperty("online").GetBoolean() && j.GetProperty("since").GetDateTimeOffset() >= restarted, "the new birth message");

            // Continue the session: no prompt, just more tokens.
            await client.PublishAsync($"{root}/generate", $"{{\"session\":\"conv-1\",\"maxTokens\":{second},\"temperature\":0}}", "durable/two", Requests.Utf8("two"));
            var r2 = await two.WaitAsync();
            r2.AssertComplete();
            Assert.Equal(prompt.Length + first + second, r2.Final.GetProperty("position").GetInt64());

            // Exactly where one uninterrupted greedy run would have gone (an independent in-process run).
            var r1Tokens = (await one.WaitAsync()).Tokens;
            int[] continued = [.. r1Tokens, .. r2.Tokens];
            Assert.Equal(GreedyReference.Run(ServiceArgs.BasedTiny, prompt, first + second), continued);

            // The damaged snapshot is refused with a clear error, never loaded.
            await client.PublishAsync($"{root}/generate", "{\"session\":\"conv-2\",\"maxTokens\":2}", "durable/bad", Requests.Utf8("bad"));
            var refused = await bad.WaitAsync();
            Assert.Equal("session_invalid", refused.ErrorCode);
            Assert.Contains("checksum", refused.ErrorMessage);

            await ServiceArgs.StopCleanlyAsync(service);
        }
    }
}
