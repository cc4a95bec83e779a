using EdgeRuntime.Models.Formats.Gguf;

namespace EdgeRuntime.Tests.Service;

/// <summary><c>Model:Path</c> may name a GGUF file: the service serves it like the checkpoint it was converted from.</summary>
[Collection(ServiceCollection.Name)]
public sealed class GgufServiceTests
{
    [Fact]
    public async Task GgufModel_ServesTheSameGreedyTokens_AsItsCheckpoint()
    {
        using var dir = TestPaths.NewTempDir();
        string gguf = dir.File("based-tiny-f32.gguf");
        GgufConverter.Convert(ServiceArgs.BasedTiny, gguf, GgufFileType.AllF32);
        string node = ServiceArgs.Node("gguf");
        var (service, port) = await ServiceProcess.StartEmbeddedAsync(node, _ => ServiceArgs.For(node, gguf, dir.File("sessions")));
        using var serviceLease = service;
        await using var client = await MqttTestClient.ConnectAsync(port);
        await client.SubscribeAsync("gguf/reply");
        var stream = client.Expect("gguf/reply");
        int[] prompt = Requests.Prompt(5, 8);

        await client.PublishAsync($"edge/{node}/generate", Requests.Tokens(prompt, 12, "\"session\":\"g1\""), "gguf/reply", Requests.Utf8("gguf"));
        var result = await stream.WaitAsync();

        result.AssertComplete();
        Assert.Equal(GreedyReference.Run(ServiceArgs.BasedTiny, prompt, 12), result.Tokens);
        Assert.True(File.Exists(Path.Combine(dir.File("sessions"), "g1.snap")));
        await ServiceArgs.StopCleanlyAsync(service);
    }
}
