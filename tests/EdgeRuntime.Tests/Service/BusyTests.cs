namespace EdgeRuntime.Tests.Service;

/// <summary>A full queue answers <c>busy</c> at once: one worker, a queue of one, a long request running.</summary>
[Collection(ServiceCollection.Name)]
public sealed class BusyTests
{
    [Fact]
    public async Task FullQueue_AnswersBusyAtOnce_AndTheQueuedRequestStillRuns()
    {
        using var dir = TestPaths.NewTempDir();
        string node = ServiceArgs.Node("busy");
        var (service, port) = await ServiceProcess.StartEmbeddedAsync(node, _ => ServiceArgs.For(node, ServiceArgs.BasedTiny, dir.File("sessions"),
            "--Limits:Workers=1", "--Limits:QueueLength=1", "--Limits:MaxNewTokens=1000000"));
        using var serviceLease = service;
        await using var client = await MqttTestClient.ConnectAsync(port);
        string root = $"edge/{node}";
        await client.SubscribeAsync("busy/long", "busy/queued", "busy/rejected");
        var longStream = client.Expect("busy/long");
        var queuedStream = client.Expect("busy/queued");
        var rejectedStream = client.Expect("busy/rejected");

        // The long request occupies the only worker...
        await client.PublishAsync($"{root}/generate", Requests.Tokens([1, 2, 3], 1000000), "busy/long", Requests.Utf8("long"));
        await longStream.WaitForChunksAsync(1);
        // ...the next one waits in the queue (its only place), and the one after that is turned away.
        await client.PublishAsync($"{root}/generate", Requests.Tokens([4, 5], 4), "busy/queued", Requests.Utf8("queued"));
        await client.PublishAsync($"{root}/generate", Requests.Tokens([6, 7], 4), "busy/rejected", Requests.Utf8("rejected"));

        var rejected = await rejectedStream.WaitAsync();
        Assert.Equal("busy", rejected.ErrorCode);
        Assert.Equal("error", rejected.FinishReason);
        Assert.Equal(0, queuedStream.ReceivedCount);

        await client.PublishAsync($"{root}/cancel", "{\"id\":\"long\"}");
        var longResult = await longStream.WaitAsync();
        Assert.Equal("cancelled", longResult.FinishReason);
        longResult.AssertComplete();
        var queued = await queuedStream.WaitAsync();
        queued.AssertComplete();
        Assert.Equal("length", queued.FinishReason);
        Assert.Equal(GreedyReference.Run(ServiceArgs.BasedTiny, [4, 5], 4), queued.Tokens);

        await ServiceArgs.StopCleanlyAsync(service);
    }
}
