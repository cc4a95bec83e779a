using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using EdgeRuntime.Messaging;
using EdgeRuntime.Messaging.Protocol;
using EdgeRuntime.Service.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeRuntime.Service.Mqtt;

/// <summary>Builds the service's MQTT client options: MQTT 5, clean start false with a session expiry, the Last Will, credentials, TLS.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class MqttClientOptionsFactory
{
    /// <summary>The Last Will payload, retained on the status topic when the connection drops without a DISCONNECT.</summary>
    public static byte[] OfflinePayload => ReplyPublisher.StatusPayload(new StatusMessage { Online = false });

    /// <summary>Client options for <paramref name="options"/>.</summary>
    public static MqttClientOptions Create(MqttOptions options, Topics topics)
    {
        var (host, port) = options.BrokerEndPoint;
        var builder = new MqttClientOptionsBuilder()
            .WithClientId(string.IsNullOrEmpty(options.ClientId) ? $"edge-runtime-{topics.NodeId}" : options.ClientId)
            .WithTcpServer(host, port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)options.SessionExpirySeconds)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(options.KeepAliveSeconds))
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(topics.Status)
            .WithWillPayload(OfflinePayload)
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillContentType("application/json");
        if (!options.IsEmbedded && !string.IsNullOrEmpty(options.Username)) builder.WithCredentials(options.Username, options.Password ?? "");
        if (!options.IsEmbedded && options.Tls.IsUsed) builder.WithTlsOptions(Tls(options.Tls, host));
        return builder.Build();
    }

    private static MqttClientTlsOptions Tls(MqttTlsOptions tls, string host)
    {
        var builder = new MqttClientTlsOptionsBuilder().UseTls(true).WithTargetHost(host);
        if (!string.IsNullOrEmpty(tls.CaFile))
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(tls.CaFile);
            builder.WithCertificateValidationHandler(e => ValidateWithRoots(e.Certificate, e.SslPolicyErrors, roots));
        }
        if (!string.IsNullOrEmpty(tls.ClientCertificateFile))
        {
            using var pem = X509Certificate2.CreateFromPemFile(tls.ClientCertificateFile, tls.ClientKeyFile);
            // Re-import so the key is usable by SslStream on every platform.
            var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            builder.WithClientCertificates(new X509Certificate2Collection(certificate));
        }
        return builder.Build();
    }

    /// <summary>Accepts the broker's certificate only if it chains to one of <paramref name="roots"/> and names the host.</summary>
    private static bool ValidateWithRoots(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }
}
