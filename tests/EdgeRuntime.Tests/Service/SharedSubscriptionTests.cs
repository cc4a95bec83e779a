namespace EdgeRuntime.Tests.Service;

/// <summary>A fleet behind one broker: two nodes in one <c>Mqtt:SharedGroup</c> share the requests sent to either node's topic.</summary>
[Collection(ServiceCollection.Name)]
public sealed class SharedSubscriptionTests
{
    [Fact]
    public async Task SharedGroup_EveryRequestIsServedOnce_ByOneNodeOfTheFleet()
    {
        using var broker = new MosquittoBroker();
        await broker.StartAsync();
        using var dir = TestPaths.NewTempDir();
        string[] nodes = [ServiceArgs.Node("fleet-a"), ServiceArgs.Node("fleet-b")];
        var services = nodes.Select(n => ServiceProcess.Start(ServiceArgs.For(n, ServiceArgs.BasedTiny, dir.File("sessions-" + n),
            $"--Mqtt:Broker=127.0.0.1:{broker.Port}", "--Mqtt:SharedGroup=fleet", "--Logging:LogLevel:EdgeRuntime.Service.Mqtt.MqttWorker=Debug"))).ToArray();
        try
        {
            await Task.WhenAll(services.Select((s, i) => s.WaitUntilServingAsync(nodes[i])));
            await using var client = await MqttTestClient.ConnectAsync(broker.Port);
            const int requests = 12;
            var streams = new ReplyStream[requests];
            for (int i = 0; i < requests; i++)
            {
                await client.SubscribeAsync($"fleet/{i}");
                streams[i] = client.Expect($"fleet/{i}");
            }
            // All to node A's topic: the shared subscription spreads them over the group.
            for (int i = 0; i < requests; i++)
                await client.PublishAsync($"edge/{nodes[0]}/generate", Requests.Tokens([i + 1, 2], 4), $"fleet/{i}", Requests.Utf8($"fleet-{i}"));
            var results = await Task.WhenAll(streams.Select(s => s.WaitAsync()));
            for (int i = 0; i < requests; i++)
            {
                results[i].AssertComplete();
                Assert.Equal(0, results[i].Duplicates);
                Assert.Equal(GreedyReference.Run(ServiceArgs.BasedTiny, [i + 1, 2], 4), results[i].Tokens);
            }

            // The log is written asynchronously: wait until each request's line has appeared on one of the nodes.
            for (int i = 0; i < requests; i++)
            {
                string id = $"'fleet-{i}'";
                var seen = services.Select(s => s.WaitForOutputAsync(l => l.Contains(id, StringComparison.Ordinal), TimeSpan.FromSeconds(30), $"request {id}")).ToArray();
                var first = await Task.WhenAny(seen);
                await first;
                foreach (var other in seen) _ = other.ContinueWith(t => t.Exception, TaskScheduler.Default);
            }
            int[] served = [.. services.Select(s => s.CountLines(l => l.Contains("Accepted Generate request 'fleet-", StringComparison.Ordinal)))];
            Assert.True(served.Sum() == requests, $"requests served per node: {string.Join(", ", served)} (each exactly once in total)");
            Assert.All(served, n => Assert.True(n > 0, $"requests served per node: {string.Join(", ", served)}"));
            foreach (var s in services) await ServiceArgs.StopCleanlyAsync(s);
        }
        finally
        {
            foreach (var s in services) s.Dispose();
        }
    }
}
