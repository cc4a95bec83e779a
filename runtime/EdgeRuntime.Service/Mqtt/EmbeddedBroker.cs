using System.Net;
using System.Net.Sockets;
using EdgeRuntime.Service.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Server;

namespace EdgeRuntime.Service.Mqtt;

/// <summary>The in-process MQTTnet broker on 127.0.0.1:<c>Mqtt:EmbeddedPort</c>, started when <c>Mqtt:Broker</c> is <c>embedded</c>.</summary>
/// <remarks>
/// Loopback only (IPv4, no IPv6 listener), MQTT 3.1.1 and 5, persistent sessions, a deep per-client queue so a slow
/// subscriber does not lose chunks. The service connects to it with its own client like any other client. Started in
/// <see cref="StartAsync"/> so a taken port fails the start with a clear message. Started and stopped by the host;
/// MQTTnet's server is thread-safe.
/// </remarks>
public sealed partial class EmbeddedBroker : IHostedService, IDisposable
{
    private readonly MqttOptions _options;
    private readonly ILogger<EmbeddedBroker> _logger;
    private MqttServer? _server;

    /// <summary>Created by the host.</summary>
    public EmbeddedBroker(IOptions<MqttOptions> options, ILogger<EmbeddedBroker> logger)
    {
        _options = options.Value;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.IsEmbedded) return;
        var serverOptions = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
            .WithDefaultEndpointPort(_options.EmbeddedPort)
            .WithPersistentSessions(true)
            .WithMaxPendingMessagesPerClient(1_000_000)
            .Build();
        _server = new MqttServerFactory().CreateMqttServer(serverOptions);
        _server.ValidatingConnectionAsync += AssignClientId;
        try
        {
            await _server.StartAsync().ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new InvalidOperationException(
                $"embedded broker: cannot listen on 127.0.0.1:{_options.EmbeddedPort}: {ex.Message}; set Mqtt:EmbeddedPort to a free port, or Mqtt:Broker to an external broker", ex);
        }
        LogListening(_logger, _options.EmbeddedPort);
    }

    /// <summary>MQTT 5 clients may connect without a client id (mosquitto_pub -V mqttv5 does): the broker assigns one.</summary>
    /// <remarks>MQTTnet rejects an empty id from an MQTT 3.1.1 client; those must send one (mosquitto_pub -i).</remarks>
    private static Task AssignClientId(ValidatingConnectionEventArgs args)
    {
        if (string.IsNullOrEmpty(args.ClientId)) args.AssignedClientIdentifier = "auto-" + Guid.NewGuid().ToString("N")[..16];
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { IsStarted: true } server) await server.StopAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _server?.Dispose();

    [LoggerMessage(70, LogLevel.Information, "Embedded MQTT broker listening on 127.0.0.1:{Port}")]
    private static partial void LogListening(ILogger logger, int port);
}
