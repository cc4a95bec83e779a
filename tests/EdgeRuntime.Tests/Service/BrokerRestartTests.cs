namespace EdgeRuntime.Tests.Service;

/// <summary>mosquitto is killed (SIGKILL) and restarted while the service is generating.</summary>
[Collection(ServiceCollection.Name)]
public sealed class BrokerRestartTests
{
    [Fact]
    public async Task BrokerKilledDuringGeneration_ServiceReconnects_StreamEndsWithAFinal_AndNewRequestsWork()
    {
        using var broker = new MosquittoBroker();
        await broker.StartAsync();
        using var dir = TestPaths.NewTempDir();
        string node = ServiceArgs.Node("restart");
        using var service = ServiceProcess.Start(ServiceArgs.For(node, ServiceArgs.BasedTiny, dir.File("sessions"),
            $"--Mqtt:Broker=127.0.0.1:{broker.Port}", "--Limits:MaxNewTokens=1000000"));
        await service.WaitUntilServingAsync(node);
        string root = $"edge/{node}";

        var client = await MqttTestClient.ConnectAsync(broker.Port);
        try
        {
            await client.SubscribeAsync("interrupted/reply", $"{root}/status");
            var stream = client.Expect("interrupted/reply");
            await client.PublishAsync($"{root}/generate", Requests.Tokens([9, 8, 7], 1000000), "interrupted/reply", Requests.Utf8("interrupted"));
            await stream.WaitForChunksAsync(5);

            // Kill the broker mid-generation, start it again on the same port, and come back like any client would.
            broker.Kill();
            await broker.StartAsync();
            await client.DisposeAsync();
            client = await MqttTestClient.ConnectAsync(broker.Port);
            await client.SubscribeAsync("interrupted/reply", $"{root}/status");
            stream = client.Expect("interrupted/reply");

            // The service reconnects (with backoff), subscribes again and announces itself again...
            await client.WaitForAsync($"{root}/status", j => j.GetProperty("online").GetBoolean(), "the birth message after the broker restart");
            await service.WaitForOutputAsync(l => l.Contains("Lost the connection", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the connection-lost log line");
            // ...the interrupted generation is still streaming to the new broker...
            await stream.WaitForChunksAsync(3);
            // ...and ends with a final message.
            await client.PublishAsync($"{root}/cancel", "{\"id\":\"interrupted\"}");
            var interrupted = await stream.WaitAsync();
            Assert.Equal("cancelled", interrupted.FinishReason);
            interrupted.AssertInOrder();
            Assert.Equal(interrupted.Chunks[^1].GetProperty("seq").GetInt32() + 1, interrupted.Final.GetProperty("seq").GetInt32());

            // New requests work and stream completely.
            await client.SubscribeAsync("after/reply");
            var after = client.Expect("after/reply");
            await client.PublishAsync($"{root}/generate", Requests.Tokens([1, 2, 3, 4], 20), "after/reply", Requests.Utf8("after"));
            var result = await after.WaitAsync();
            result.AssertComplete();
            Assert.Equal(GreedyReference.Run(ServiceArgs.BasedTiny, [1, 2, 3, 4], 20), result.Tokens);
        }
        finally
        {
            await client.DisposeAsync();
        }
        await ServiceArgs.StopCleanlyAsync(service);
    }
}
