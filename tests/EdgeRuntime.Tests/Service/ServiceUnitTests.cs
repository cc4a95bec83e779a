using EdgeRuntime.Messaging.Protocol;
using EdgeRuntime.Service.Hosting;
using EdgeRuntime.Service.Inference;
using EdgeRuntime.Service.Mqtt;
using EdgeRuntime.Service.Options;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using OptionsFactory = Microsoft.Extensions.Options.Options;

namespace EdgeRuntime.Tests.Service;

/// <summary>In-process tests of the service's parts: broker addresses, backoff, the session store.</summary>
public sealed class ServiceUnitTests
{
    [Theory]
    [InlineData("broker.local", 1883, "broker.local", 1883)]
    [InlineData("broker.local:8883", 1883, "broker.local", 8883)]
    [InlineData("10.0.0.5:1884", 1883, "10.0.0.5", 1884)]
    [InlineData("[::1]:1885", 1883, "::1", 1885)]
    [InlineData("[fe80::1]", 8883, "fe80::1", 8883)]
    [InlineData("fe80::1", 1883, "fe80::1", 1883)]
    public void Broker_HostAndPort_AreParsed(string value, int defaultPort, string host, int port)
    {
        Assert.True(MqttOptions.TryParseBroker(value, defaultPort, out string h, out int p));
        Assert.Equal(host, h);
        Assert.Equal(port, p);
    }

    [Theory]
    [InlineData("")]
    [InlineData("host:0")]
    [InlineData("host:70000")]
    [InlineData("host:port")]
    [InlineData("[::1")]
    [InlineData("mqtt://host")]
    public void Broker_BadValues_AreRefused(string value) => Assert.False(MqttOptions.TryParseBroker(value, 1883, out _, out _));

    [Fact]
    public void Backoff_GrowsExponentially_WithJitter_UpToTheCap()
    {
        var min = TimeSpan.FromMilliseconds(100);
        var max = TimeSpan.FromSeconds(5);
        Assert.Equal(TimeSpan.FromMilliseconds(50), Backoff.Delay(0, min, max, 0));
        Assert.InRange(Backoff.Delay(0, min, max, 0.999999).TotalMilliseconds, 99.99, 100);
        Assert.Equal(TimeSpan.FromMilliseconds(400), Backoff.Delay(3, min, max, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(2500), Backoff.Delay(20, min, max, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(2500), Backoff.Delay(int.MaxValue, min, max, 0));
        Assert.True(Backoff.Delay(20, min, max, 0.99) <= max);
    }

    [Fact]
    public void SessionStore_EvictsIdleSessionsBeyondTheLimit_AndReloadsThemFromDisk()
    {
        using var dir = TestPaths.NewTempDir();
        var modelHost = new ModelHost(OptionsFactory.Create(new ModelSourceOptions { Path = TestPaths.Golden("based-tiny"), Threads = 1 }),
            OptionsFactory.Create(new InferModelOptions()), OptionsFactory.Create(new RuntimeOptions()), new HostingEnvironment { ContentRootPath = dir.Path },
            NullLogger<ModelHost>.Instance);
        using var hostLease = modelHost;
        var model = modelHost.Load().Generate!;
        using var store = new SessionStore(model, dir.File("sessions"), persist: true, capacity: 2, NullLogger<SessionStore>.Instance);

        for (int i = 0; i < 3; i++)
        {
            var slot = store.Acquire($"s{i}", create: true, reset: false, out var error)!;
            Assert.Null(error);
            slot.Language!.Append([1, 2, 3, i]);
            slot.PendingToken = 40 + i;
            store.Release(slot, save: true);
        }
        Assert.Equal(2, store.InMemory);
        Assert.Equal(3, Directory.GetFiles(store.Directory, "*.snap").Length);

        // s0 was evicted: it comes back from its snapshot, position and pending token intact.
        var back = store.Acquire("s0", create: false, reset: false, out var backError)!;
        Assert.Null(backError);
        Assert.Equal(4, back.Language!.Position);
        Assert.Equal(40, back.PendingToken);

        // In use: a second request for the same session is busy.
        Assert.Null(store.Acquire("s0", create: true, reset: false, out var busy));
        Assert.Equal(ErrorCodes.Busy, busy!.Code);
        store.Release(back, save: true);

        // Unknown, when not creating: not found.
        Assert.Null(store.Acquire("never", create: false, reset: false, out var missing));
        Assert.Equal(ErrorCodes.NotFound, missing!.Code);

        // A model failure drops the in-memory copy: the next use starts from the last snapshot.
        var failed = store.Acquire("s1", create: false, reset: false, out _)!;
        failed.Language!.Append([7, 7, 7]);
        store.Release(failed, save: false);
        var restored = store.Acquire("s1", create: false, reset: false, out _)!;
        Assert.Equal(4, restored.Language!.Position);
        store.Release(restored, save: true);

        // Reset starts afresh even when the snapshot is unreadable.
        File.WriteAllText(store.PathOf("s2"), "garbage");
        store.Dispose();
        using var fresh = new SessionStore(model, dir.File("sessions"), persist: true, capacity: 2, NullLogger<SessionStore>.Instance);
        Assert.Null(fresh.Acquire("s2", create: true, reset: false, out var invalid));
        Assert.Equal(ErrorCodes.SessionInvalid, invalid!.Code);
        var reset = fresh.Acquire("s2", create: true, reset: true, out _)!;
        Assert.Equal(0, reset.Language!.Position);
        fresh.Release(reset, save: true);
    }
}
