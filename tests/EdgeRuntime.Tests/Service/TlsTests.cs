using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EdgeRuntime.Tests.Service;

/// <summary>The service reaches an external broker over TLS with its own CA file and a client certificate (mosquitto with
/// <c>require_certificate true</c>); clients of the test use a second, plain listener of the same broker.</summary>
[Collection(ServiceCollection.Name)]
public sealed class TlsTests
{
    [Fact]
    public async Task ExternalBrokerOverTls_WithCaFileAndClientCertificate_Serves()
    {
        using var dir = TestPaths.NewTempDir();
        var pki = Pki.Create(dir);
        int tlsPort = ServiceProcess.FreePort();
        using var broker = new MosquittoBroker(
            $"listener {tlsPort} 127.0.0.1",
            $"cafile {pki.CaFile}",
            $"certfile {pki.ServerCertFile}",
            $"keyfile {pki.ServerKeyFile}",
            "require_certificate true");
        await broker.StartAsync();

        string node = ServiceArgs.Node("tls");
        using var service = ServiceProcess.Start(ServiceArgs.For(node, ServiceArgs.BasedTiny, dir.File("sessions"),
            $"--Mqtt:Broker=127.0.0.1:{tlsPort}", $"--Mqtt:Tls:CaFile={pki.CaFile}",
            $"--Mqtt:Tls:ClientCertificateFile={pki.ClientCertFile}", $"--Mqtt:Tls:ClientKeyFile={pki.ClientKeyFile}"));
        await service.WaitUntilServingAsync(node);
        Assert.Contains($"Connected to MQTT broker 127.0.0.1:{tlsPort}", service.Output);

        await using var client = await MqttTestClient.ConnectAsync(broker.Port);
        await client.SubscribeAsync("tls/reply");
        var stream = client.Expect("tls/reply");
        await client.PublishAsync($"edge/{node}/generate", Requests.Tokens([3, 2, 1], 6), "tls/reply", Requests.Utf8("tls"));
        var result = await stream.WaitAsync();
        result.AssertComplete();
        Assert.Equal(GreedyReference.Run(ServiceArgs.BasedTiny, [3, 2, 1], 6), result.Tokens);
        await ServiceArgs.StopCleanlyAsync(service);
    }

    [Fact]
    public async Task ExternalBrokerOverTls_WithAnotherCa_IsRefused_AndTheServiceKeepsRetrying()
    {
        using var dir = TestPaths.NewTempDir();
        var pki = Pki.Create(dir);
        var stranger = Pki.Create(dir, "other");
        int tlsPort = ServiceProcess.FreePort();
        using var broker = new MosquittoBroker($"listener {tlsPort} 127.0.0.1", $"cafile {pki.CaFile}", $"certfile {pki.ServerCertFile}", $"keyfile {pki.ServerKeyFile}");
        await broker.StartAsync();

        string node = ServiceArgs.Node("tls-bad");
        using var service = ServiceProcess.Start(ServiceArgs.For(node, ServiceArgs.BasedTiny, dir.File("sessions"),
            $"--Mqtt:Broker=127.0.0.1:{tlsPort}", $"--Mqtt:Tls:CaFile={stranger.CaFile}"));
        await service.WaitForOutputAsync(l => l.Contains("Cannot connect to MQTT broker", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the refused TLS connection");
        Assert.False(service.HasExited);
        Assert.DoesNotContain("Serving on", service.Output);
        await ServiceArgs.StopCleanlyAsync(service);
    }

    /// <summary>A throw-away CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files.</summary>
    private sealed record Pki(string CaFile, string ServerCertFile, string ServerKeyFile, string ClientCertFile, string ClientKeyFile)
    {
        public static Pki Create(TempDir dir, string prefix = "pki")
        {
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest($"CN={prefix} test CA", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

            var (serverCert, serverKey) = Issue(ca, "CN=127.0.0.1", server: true);
            var (clientCert, clientKey) = Issue(ca, "CN=edge-runtime", server: false);
            string Write(string name, string pem)
            {
                string path = dir.File($"{prefix}-{name}");
                File.WriteAllText(path, pem);
                return path;
            }
            return new Pki(Write("ca.pem", ca.ExportCertificatePem()), Write("server.pem", serverCert), Write("server.key", serverKey),
                Write("client.pem", clientCert), Write("client.key", clientKey));
        }

        private static (string Cert, string Key) Issue(X509Certificate2 ca, string subject, bool server)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            if (server)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                san.AddDnsName("localhost");
                request.CertificateExtensions.Add(san.Build());
            }
            byte[] serial = new byte[12];
            RandomNumberGenerator.Fill(serial);
            serial[0] &= 0x7F;
            using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
            return (cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        }
    }
}
