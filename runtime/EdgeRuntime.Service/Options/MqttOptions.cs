using System.ComponentModel.DataAnnotations;
using System.Globalization;
using EdgeRuntime.Messaging;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Options;

/// <summary>Configuration section <c>Mqtt</c>: which broker, how to connect, how replies are streamed.</summary>
/// <remarks>Bound once at start; treat as immutable.</remarks>
public sealed class MqttOptions : IValidatableObject
{
    /// <summary>The section name.</summary>
    public const string Section = "Mqtt";

    /// <summary>The <see cref="Broker"/> value that starts the in-process broker.</summary>
    public const string Embedded = "embedded";

    /// <summary><c>Mqtt:Broker</c>: <c>embedded</c> (default: an MQTTnet broker in this process on 127.0.0.1) or <c>host[:port]</c>.</summary>
    public string Broker { get; set; } = Embedded;

    /// <summary><c>Mqtt:EmbeddedPort</c>: the embedded broker's port on 127.0.0.1. Default 1883.</summary>
    [Range(1, 65535)]
    public int EmbeddedPort { get; set; } = 1883;

    /// <summary><c>Mqtt:ClientId</c>: the service's client id (default <c>edge-runtime-{nodeId}</c>).</summary>
    public string? ClientId { get; set; }

    /// <summary><c>Mqtt:Username</c>.</summary>
    public string? Username { get; set; }

    /// <summary><c>Mqtt:Password</c> (prefer the environment: <c>EDGE_Mqtt__Password</c>).</summary>
    public string? Password { get; set; }

    /// <summary><c>Mqtt:Tls:*</c>: TLS to an external broker.</summary>
    public MqttTlsOptions Tls { get; set; } = new();

    /// <summary><c>Mqtt:KeepAliveSeconds</c>. Default 15.</summary>
    [Range(1, 3600)]
    public int KeepAliveSeconds { get; set; } = 15;

    /// <summary><c>Mqtt:SessionExpirySeconds</c>: how long the broker keeps this client's session (subscriptions, queued
    /// requests) across a disconnect; the client connects with clean start false. Default 3600.</summary>
    [Range(0, int.MaxValue)]
    public int SessionExpirySeconds { get; set; } = 3600;

    /// <summary><c>Mqtt:ReconnectMinMilliseconds</c>: first reconnect delay; doubles per failure, with jitter. Default 500.</summary>
    [Range(10, 600000)]
    public int ReconnectMinMilliseconds { get; set; } = 500;

    /// <summary><c>Mqtt:ReconnectMaxMilliseconds</c>: longest reconnect delay. Default 30000.</summary>
    [Range(10, 3600000)]
    public int ReconnectMaxMilliseconds { get; set; } = 30000;

    /// <summary><c>Mqtt:SharedGroup</c>: external brokers only: take generate/infer requests through the MQTT 5 shared
    /// subscription <c>$share/{group}/{prefix}/+/generate</c> (a fleet shares the load) instead of this node's own topics.</summary>
    public string? SharedGroup { get; set; }

    /// <summary><c>Mqtt:ChunkFlushMilliseconds</c>: coalesce generated tokens into one chunk for at most this long (0 = a chunk per token). Default 0.</summary>
    [Range(0, 10000)]
    public int ChunkFlushMilliseconds { get; set; }

    /// <summary><c>Mqtt:OutboxLength</c>: replies held while the broker is unreachable; when full, generation waits. Default 65536.</summary>
    [Range(16, 10_000_000)]
    public int OutboxLength { get; set; } = 65536;

    /// <summary>Whether the in-process broker is used.</summary>
    public bool IsEmbedded => string.Equals(Broker, Embedded, StringComparison.OrdinalIgnoreCase);

    /// <summary>Host and port of an external broker (port default 1883, or 8883 with TLS).</summary>
    public (string Host, int Port) BrokerEndPoint
    {
        get
        {
            if (IsEmbedded) return ("127.0.0.1", EmbeddedPort);
            TryParseBroker(Broker, Tls.IsUsed ? 8883 : 1883, out string host, out int port);
            return (host, port);
        }
    }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IsEmbedded && !TryParseBroker(Broker, 1883, out _, out _))
            yield return new ValidationResult($"Mqtt:Broker '{Broker}': expected 'embedded' or host[:port] with a port in 1..65535", [nameof(Broker)]);
        if (ReconnectMaxMilliseconds < ReconnectMinMilliseconds)
            yield return new ValidationResult($"Mqtt:ReconnectMaxMilliseconds ({ReconnectMaxMilliseconds}) is below Mqtt:ReconnectMinMilliseconds ({ReconnectMinMilliseconds})", [nameof(ReconnectMaxMilliseconds)]);
        if (!string.IsNullOrEmpty(SharedGroup))
        {
            if (IsEmbedded)
                yield return new ValidationResult("Mqtt:SharedGroup needs an external broker: the embedded broker has no shared subscriptions", [nameof(SharedGroup)]);
            if (!Topics.IsValidNodeId(SharedGroup))
                yield return new ValidationResult($"Mqtt:SharedGroup '{SharedGroup}': expected 1-64 characters from A-Z a-z 0-9 . _ -", [nameof(SharedGroup)]);
        }
        if (IsEmbedded && (Tls.Enabled || !string.IsNullOrEmpty(Username)))
            yield return new ValidationResult("Mqtt:Tls and Mqtt:Username apply to an external broker; the embedded broker listens on 127.0.0.1 without them", [nameof(Tls)]);
        foreach (var (key, path) in new[] { ("Mqtt:Tls:CaFile", Tls.CaFile), ("Mqtt:Tls:ClientCertificateFile", Tls.ClientCertificateFile), ("Mqtt:Tls:ClientKeyFile", Tls.ClientKeyFile) })
        {
            if (!string.IsNullOrEmpty(path) && !File.Exists(path))
                yield return new ValidationResult($"{key} '{path}': no such file", [nameof(Tls)]);
        }
        if (string.IsNullOrEmpty(Tls.ClientCertificateFile) != string.IsNullOrEmpty(Tls.ClientKeyFile))
            yield return new ValidationResult("Mqtt:Tls:ClientCertificateFile and Mqtt:Tls:ClientKeyFile go together (PEM certificate and key)", [nameof(Tls)]);
    }

    /// <summary>Parses <c>host</c>, <c>host:port</c>, <c>[v6]</c> or <c>[v6]:port</c> (a bare IPv6 address has no port).</summary>
    public static bool TryParseBroker(string? value, int defaultPort, out string host, out int port)
    {
        host = "";
        port = defaultPort;
        if (string.IsNullOrWhiteSpace(value)) return false;
        value = value.Trim();
        string? portText = null;
        if (value.StartsWith('['))
        {
            int close = value.IndexOf(']');
            if (close < 2) return false;
            host = value[1..close];
            string rest = value[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':') return false;
                portText = rest[1..];
            }
        }
        else if (value.Count(c => c == ':') == 1)
        {
            int colon = value.IndexOf(':');
            host = value[..colon];
            portText = value[(colon + 1)..];
        }
        else
        {
            host = value;
        }
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)) return false;
        return host.Length > 0 && host.AsSpan().IndexOfAny('/', ' ') < 0;
    }
}

/// <summary>Configuration section <c>Mqtt:Tls</c>.</summary>
/// <remarks>Bound once at start; treat as immutable.</remarks>
public sealed class MqttTlsOptions
{
    /// <summary><c>Mqtt:Tls:Enabled</c>: connect with TLS (implied by any file below).</summary>
    public bool Enabled { get; set; }

    /// <summary><c>Mqtt:Tls:CaFile</c>: PEM CA certificate(s) to trust instead of the system store.</summary>
    public string? CaFile { get; set; }

    /// <summary><c>Mqtt:Tls:ClientCertificateFile</c>: PEM client certificate (with <see cref="ClientKeyFile"/>).</summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary><c>Mqtt:Tls:ClientKeyFile</c>: PEM private key of the client certificate.</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>Whether TLS is used.</summary>
    public bool IsUsed => Enabled || !string.IsNullOrEmpty(CaFile) || !string.IsNullOrEmpty(ClientCertificateFile);
}

/// <summary>Validates <see cref="MqttOptions"/> at start (source-generated).</summary>
[OptionsValidator]
public sealed partial class MqttOptionsValidator : IValidateOptions<MqttOptions>;
