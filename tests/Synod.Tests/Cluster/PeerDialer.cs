using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Google.Protobuf;
using Synod.Protocol.Peer;

namespace Synod.Tests.Cluster;

/// <summary>
/// A test's own end of a peer connection, written byte by byte from docs/protocol.md ("Peer connections") rather
/// than with the server's code, so that the tests check the documented wire: the magic, the pre-TLS answer, TLS 1.3
/// with a replica certificate, the hello, its answer and length-prefixed messages.
/// </summary>
internal sealed class PeerDialer : IAsyncDisposable
{
    public static readonly TimeSpan ReadLimit = TimeSpan.FromSeconds(30);

    private PeerDialer(Socket socket, Stream stream)
    {
        Socket = socket;
        Stream = stream;
    }

    public Socket Socket { get; }

    public Stream Stream { get; private set; }

    /// <summary>A plain TCP connection to a replica's port, nothing sent yet.</summary>
    public static async Task<PeerDialer> ConnectAsync(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        return new PeerDialer(socket, new NetworkStream(socket, ownsSocket: true));
    }

    /// <summary>
    /// Connects and starts TLS as a replica holding <paramref name="certificate"/> would: "SYNODPT8", the one-byte
    /// answer, then the handshake. Of the server's certificate only its form is checked: these tests are about what the
    /// replica accepts. Throws <see cref="AuthenticationException"/> if the handshake fails on this side.
    /// </summary>
    public static async Task<PeerDialer> ConnectTlsAsync(string endpoint, X509Certificate2 certificate)
    {
        var dialer = await ConnectAsync(endpoint);
        await dialer.WriteAsync("SYNODPT8"u8.ToArray());
        var (status, reason) = await dialer.ReadAnswerAsync();
        Assert.True(status == 0, $"the replica refused to start TLS: {reason}");
        var tls = new SslStream(dialer.Stream, leaveInnerStreamOpen: false);
        dialer.Stream = tls;
        using var limit = new CancellationTokenSource(ReadLimit);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = SslProtocols.Tls13,
            ClientCertificates = [certificate],
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.Subject.Contains("CN=synod-replica-", StringComparison.Ordinal) == true,
        }, limit.Token);
        return dialer;
    }

    /// <summary>
    /// The hello: "SYNODPR8", the sender's id and its cluster size, each a little-endian uint32, then its cluster id, a
    /// little-endian uint64 (by default that of a test cluster of replicas 1..clusterSize with the default token).
    /// </summary>
    public static byte[] Hello(int from, int clusterSize, ulong? clusterId = null)
    {
        var hello = new byte[24];
        "SYNODPR8"u8.CopyTo(hello);
        BinaryPrimitives.WriteUInt32LittleEndian(hello.AsSpan(8), (uint)from);
        BinaryPrimitives.WriteUInt32LittleEndian(hello.AsSpan(12), (uint)clusterSize);
        BinaryPrimitives.WriteUInt64LittleEndian(hello.AsSpan(16), clusterId ?? ClusterIdOf(clusterSize));
        return hello;
    }

    /// <summary>The cluster id of replicas 1..<paramref name="replicas"/> started with <paramref name="token"/>, as they compute it.</summary>
    public static ulong ClusterIdOf(int replicas, string token = Synod.Server.ServerOptions.ClusterTokenDefault) =>
        (Synod.Server.ServerOptions.Defaults with
        {
            Endpoints = Enumerable.Range(1, replicas).ToDictionary(id => id, id => $"127.0.0.1:{7000 + id}"),
            ClusterToken = token,
        }).ClusterId;

    /// <summary>A message as the sender frames it: a little-endian uint32 length, then the PeerMessage.</summary>
    public static byte[] Frame(PeerMessage message)
    {
        var body = message.ToByteArray();
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)body.Length);
        body.CopyTo(frame, 4);
        return frame;
    }

    public async Task WriteAsync(byte[] bytes)
    {
        using var limit = new CancellationTokenSource(ReadLimit);
        await Stream.WriteAsync(bytes, limit.Token);
        await Stream.FlushAsync(limit.Token);
    }

    /// <summary>Sends the hello and reads the answer: 0 and no reason for an accept, 1 and the reason for a refusal.</summary>
    public async Task<(byte Status, string? Reason)> SayHelloAsync(int from, int clusterSize, ulong? clusterId = null)
    {
        await WriteAsync(Hello(from, clusterSize, clusterId));
        return await ReadAnswerAsync();
    }

    /// <summary>One status byte; after a 1, a little-endian uint16 length and a UTF-8 reason.</summary>
    public async Task<(byte Status, string? Reason)> ReadAnswerAsync()
    {
        using var limit = new CancellationTokenSource(ReadLimit);
        var status = new byte[1];
        await Stream.ReadExactlyAsync(status, limit.Token);
        if (status[0] != 1)
        {
            return (status[0], null);
        }

        var length = new byte[2];
        await Stream.ReadExactlyAsync(length, limit.Token);
        var reason = new byte[BinaryPrimitives.ReadUInt16LittleEndian(length)];
        await Stream.ReadExactlyAsync(reason, limit.Token);
        return (1, Encoding.UTF8.GetString(reason));
    }

    /// <summary>
    /// True once the replica has closed the connection (end of stream, a reset, or a TLS alert), false if it is still
    /// open after <see cref="ReadLimit"/>. The replica writes nothing after its answer, so any read ends only so.
    /// </summary>
    public async Task<bool> ClosedByReplicaAsync()
    {
        using var limit = new CancellationTokenSource(ReadLimit);
        try
        {
            var buffer = new byte[256];
            while (await Stream.ReadAsync(buffer, limit.Token) > 0)
            {
            }

            return true;
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or AuthenticationException or SocketException)
        {
            return true;
        }
    }

    /// <summary>Whether the replica has closed the connection already, looked at once without waiting.</summary>
    public bool ClosedNow() => Socket.Poll(0, SelectMode.SelectRead) && Socket.Available == 0;

    public async ValueTask DisposeAsync()
    {
        await Stream.DisposeAsync();
        Socket.Dispose();
    }
}
