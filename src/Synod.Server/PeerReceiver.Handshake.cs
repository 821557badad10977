using System.Buffers;
using System.IO.Pipelines;
using System.Security.Authentication;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Synod.Server;

/// <summary>The handshake of a peer connection: TLS when it asks for it, then the hello, each refused with a reason.</summary>
internal sealed partial class PeerReceiver
{
    /// <summary>Runs TLS if the connection asked for it, then reads and judges the hello; returns the peer's id once accepted.</summary>
    private async Task<int?> HandshakeAsync(ConnectionContext connection, ConnectionKind kind, PeerSession session, CancellationToken cancellation)
    {
        PeerIdentity? certified = null;
        if (kind == ConnectionKind.TlsPeer)
        {
            certified = await StartTlsAsync(connection, session, cancellation);
            if (certified is null)
            {
                return null;
            }
        }

        var reader = session.StartReading(ReaderOptions);
        var hello = await ReadHelloAsync(reader, cancellation);
        if (hello is null)
        {
            return null;
        }

        if (HelloProblem(hello, kind, certified) is { } reason)
        {
            await RefuseAsync(connection, session.Stream, reason, cancellation);
            return null;
        }

        await session.Stream.WriteAsync(new[] { PeerWire.Accepted }, cancellation);
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
        {
            PeerWire.EnableKeepAlive(socket);
        }

        return PeerWire.ParseHello(hello).From;
    }

    /// <summary>
    /// Takes the TLS magic, answers that TLS follows (or why not), and runs the handshake as the TLS server, which
    /// requires the peer's certificate; returns whom that certificate names, or null after a refusal.
    /// </summary>
    private async Task<PeerIdentity?> StartTlsAsync(ConnectionContext connection, PeerSession session, CancellationToken cancellation)
    {
        var magic = new byte[PeerWire.MagicBytes];
        await session.Stream.ReadExactlyAsync(magic, cancellation);
        if (_options.PeerCredentials is not { } credentials)
        {
            await RefuseAsync(connection, session.Stream,
                $"replica {Id} runs with --insecure-peers: it has no certificate and cannot take an authenticated (TLS) peer connection. " +
                "Start every replica of the cluster the same way: all with --peer-cert, --peer-key and --peer-ca, or all with --insecure-peers.",
                cancellation);
            return null;
        }

        await session.Stream.WriteAsync(new[] { PeerWire.Accepted }, cancellation);
        var tls = session.StartTls();
        var check = new PeerTlsCheck();
        try
        {
            await tls.AuthenticateAsServerAsync(credentials.ServerOptions(check), cancellation);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            _log.Write(LogLevel.Warning, PeerLogKind.TlsRefused,
                $"replica {Id} refused a peer connection from {Remote(connection)} at the TLS handshake: {check.Problem ?? e.Message}.");
            return null;
        }

        return check.Identity;
    }

    /// <summary>Why a hello is refused, in words that say what to change; null to accept it.</summary>
    private string? HelloProblem(byte[] hello, ConnectionKind kind, PeerIdentity? certified)
    {
        if (!hello.AsSpan(0, PeerWire.MagicBytes).SequenceEqual(PeerWire.Magic))
        {
            return $"replica {Id} got no Synod hello after the TLS handshake; check that every replica runs the same Synod version.";
        }

        var (from, clusterSize, clusterId) = PeerWire.ParseHello(hello);
        if (kind == ConnectionKind.PlainPeer && _options.PeerCredentials is not null)
        {
            return $"replica {Id} accepts only authenticated peers, and this connection (claiming to be replica {from}) said a plaintext hello: " +
                $"start replica {from} with --peer-cert, --peer-key and --peer-ca from this cluster's certificates (./synod certs) instead of --insecure-peers.";
        }

        if (certified is { } identity && identity.Id != from)
        {
            return $"replica {Id} refuses a connection whose certificate is replica {identity.Id}'s but whose hello says replica {from}: " +
                $"a replica speaks only in its own name. Check --id and --peer-cert on replica {identity.Id}.";
        }

        if (!_host.IsMember(from) || from == Id || clusterSize != _options.InitialVoterIds.Count)
        {
            return $"replica {Id} refuses a connection from replica {from} of a cluster that began with {clusterSize} replicas: " +
                $"this cluster began with replicas {string.Join(",", _options.InitialVoterIds.Order())}, and {from} is in no configuration this replica knows. " +
                "Check --peers on both sides; a replica that joins later is added first (synod member add) and started with --join.";
        }

        if (_options.ClusterId is var ours && clusterId != ours)
        {
            return $"replica {Id} of cluster {ours:x16} refuses replica {from} of cluster {clusterId:x16}: a replica of another cluster cannot take part. " +
                $"Check --cluster-token and --peers on both sides (every replica of one cluster gives the same ones); a replica that lost its data rejoins with --rebuild-from-peers.";
        }

        return null;
    }

    /// <summary>Logs the refusal (rate-limited) and tells the peer why, so that its own log says what to change.</summary>
    private async Task RefuseAsync(ConnectionContext connection, Stream stream, string reason, CancellationToken cancellation)
    {
        _log.Write(LogLevel.Warning, PeerLogKind.HelloRefused, $"{reason} (connection from {Remote(connection)})");
        await stream.WriteAsync(PeerWire.Refusal(reason), cancellation);
    }

    private static async ValueTask<byte[]?> ReadHelloAsync(PipeReader input, CancellationToken cancellation)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellation);
            if (result.Buffer.Length >= PeerWire.HelloBytes)
            {
                var hello = result.Buffer.Slice(0, PeerWire.HelloBytes).ToArray();
                input.AdvanceTo(result.Buffer.GetPosition(PeerWire.HelloBytes));
                return hello;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(result.Buffer.End);
                return null;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
