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
}
