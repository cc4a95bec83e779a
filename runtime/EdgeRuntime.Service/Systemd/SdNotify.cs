using System.Net.Sockets;
using System.Text;

namespace EdgeRuntime.Service.Systemd;

/// <summary>sd_notify(3): datagrams such as <c>WATCHDOG=1</c> or <c>STATUS=...</c> to the socket in <c>$NOTIFY_SOCKET</c>.</summary>
/// <remarks>
/// Does nothing when the variable is unset (not started by systemd with Type=notify). A leading '@' names an abstract
/// socket. Sending never throws. Thread-safe.
/// </remarks>
public sealed class SdNotify : IDisposable
{
    private readonly UnixDomainSocketEndPoint? _endPoint;
    private readonly Lock _gate = new();
    private Socket? _socket;

    /// <summary>Reads <c>$NOTIFY_SOCKET</c>.</summary>
    public SdNotify()
        : this(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"))
    {
    }

    /// <summary>Uses <paramref name="path"/> (null or empty: disabled).</summary>
    public SdNotify(string? path)
    {
        if (string.IsNullOrEmpty(path)) return;
        _endPoint = new UnixDomainSocketEndPoint(path[0] == '@' ? "\0" + path[1..] : path);
    }

    /// <summary>Whether a notify socket is configured.</summary>
    public bool IsEnabled => _endPoint is not null;

    /// <summary>Sends one state string (several assignments may be joined with '\n'); false when disabled or on a socket error.</summary>
    public bool Send(string state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_endPoint is null) return false;
        lock (_gate)
        {
            try
            {
                // Non-blocking: a reader that stopped reading must not stall the service (the message is dropped instead).
                _socket ??= new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { Blocking = false };
                _socket.SendTo(Encoding.UTF8.GetBytes(state), _endPoint);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _socket?.Dispose();
            _socket = null;
        }
    }
}
