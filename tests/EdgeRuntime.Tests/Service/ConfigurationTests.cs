namespace EdgeRuntime.Tests.Service;

/// <summary>Bad configuration stops the service at start with a message naming the key (exit code 2), a missing model with 1.</summary>
[Collection(ServiceCollection.Name)]
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("--Limits:Workers=0", "Workers")]
    [InlineData("--Mqtt:Broker=host:99999", "Mqtt:Broker")]
    [InlineData("--Edge:NodeId=bad/node", "Edge:NodeId")]
    [InlineData("--Limits:QueueLength=many", "QueueLength")]
    [InlineData("--Runtime:Device=tpu", "Runtime:Device")]
    public async Task BadSetting_StopsAtStart_NamingTheKey(string argument, string named)
    {
        using var service = ServiceProcess.Start([argument, $"--Mqtt:EmbeddedPort={ServiceProcess.FreePort()}"]);
        int code = await service.Exited.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 2, $"exit {code}:\n{service.Output}");
        Assert.Contains(named, service.Output);
    }

    [Fact]
    public async Task MissingModel_StopsWithExitCodeOne_SayingWhatToSet()
    {
        using var service = ServiceProcess.Start(["--Model:Path=/nonexistent/model", $"--Mqtt:EmbeddedPort={ServiceProcess.FreePort()}"]);
        int code = await service.Exited.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 1, $"exit {code}:\n{service.Output}");
        Assert.Contains("Model:Path '/nonexistent/model' does not exist", service.Output);
    }

    [Fact]
    public async Task MissingInferModel_StopsWithExitCodeOne_NamingTheKey()
    {
        using var service = ServiceProcess.Start([$"--Model:Path={ServiceArgs.BasedTiny}", "--InferModel:Path=/nonexistent/forecaster.gguf",
            $"--Mqtt:EmbeddedPort={ServiceProcess.FreePort()}"]);
        int code = await service.Exited.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 1, $"exit {code}:\n{service.Output}");
        Assert.Contains("InferModel:Path '/nonexistent/forecaster.gguf' does not exist", service.Output);
    }

    [Fact]
    public async Task InferModel_ThatIsALanguageModel_StopsWithExitCodeOne()
    {
        using var service = ServiceProcess.Start([$"--Model:Path={ServiceArgs.BasedTiny}", $"--InferModel:Path={ServiceArgs.BasedTiny}",
            $"--Mqtt:EmbeddedPort={ServiceProcess.FreePort()}"]);
        int code = await service.Exited.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 1, $"exit {code}:\n{service.Output}");
        Assert.Contains("is a based language model, expected a sequence model (Aaren)", service.Output);
    }

    [Fact]
    public async Task TwoSequenceModels_StopWithExitCodeOne_InferTakesOnlyOne()
    {
        using var service = ServiceProcess.Start([$"--Model:Path={TestPaths.Golden("aaren-tiny")}", $"--InferModel:Path={TestPaths.SampleModel("aaren-motes.gguf")}",
            $"--Mqtt:EmbeddedPort={ServiceProcess.FreePort()}"]);
        int code = await service.Exited.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 1, $"exit {code}:\n{service.Output}");
        Assert.Contains("is a sequence model, so it serves infer, and InferModel:Path", service.Output);
    }
}
