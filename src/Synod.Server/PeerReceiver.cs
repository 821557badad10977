using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Synod.Protocol.Peer;

namespace Synod.Server;

/// <summary>
/// The receiving end of peers' connections, as Kestrel connection middleware on the one listen port: a connection
/// that starts with <see cref="PeerWire.Magic"/> is a peer's; anything else goes on to HTTP/2 untouched. It checks who
/// is talking, then decodes each message and posts it to the owner loop in order.
/// </summary>
internal sealed class PeerReceiver(ReplicaHost host, ServerOptions options, IHostApplicationLifetime lifetime, ILogger<PeerReceiver> logger)
{
    /// <summary>
    /// A message up to this size waits in Kestrel's input buffer until it is whole. A longer one (a catch-up batch, a
    /// snapshot chunk) is copied out as it arrives, since Kestrel stops reading a connection whose unread bytes pass
    /// its buffer limit (1 MiB), and would then wait for this reader forever.
    /// </summary>
    private const int InPlaceMessageBytesMax = 64 * 1024;

    private enum Verdict
    {
        Peer,
        NotPeer,
        NeedMore,
    }

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var input = connection.Transport.Input;
        while (true)
        {
            var result = await input.ReadAsync(connection.ConnectionClosed);
            var verdict = Classify(result.Buffer);
            if (verdict == Verdict.NotPeer)
            {
                // Nothing consumed: HTTP/2 reads the same bytes from the start.
                input.AdvanceTo(result.Buffer.Start);
                await next(connection);
                return;
            }

            if (verdict == Verdict.Peer)
            {
                input.AdvanceTo(result.Buffer.Start);
                break;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }

        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, lifetime.ApplicationStopping);
        try
        {
            await ServeAsync(connection, stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The peer went away, or this replica is stopping.
        }
        catch (IOException)
        {
            // The connection failed; the peer reconnects.
        }
    }

    private static Verdict Classify(ReadOnlySequence<byte> buffer)
    {
        var magic = PeerWire.Magic;
        var length = (int)Math.Min(buffer.Length, magic.Length);
        Span<byte> head = stackalloc byte[magic.Length];
        buffer.Slice(0, length).CopyTo(head);
        if (!head[..length].SequenceEqual(magic[..length]))
        {
            return Verdict.NotPeer;
        }

        return length == magic.Length ? Verdict.Peer : Verdict.NeedMore;
    }

    private async Task ServeAsync(ConnectionContext connection, CancellationToken cancellation)
    {
        var input = connection.Transport.Input;
        var helloBuffer = new byte[PeerWire.HelloBytes];
        if (!await ReadExactlyAsync(input, helloBuffer, cancellation))
        {
            return;
        }

        var (from, clusterSize) = PeerWire.ParseHello(helloBuffer);
        if (!options.Endpoints.ContainsKey(from) || from == options.Id || clusterSize != options.Endpoints.Count)
        {
            var reason = $"replica {options.Id} refuses a connection from replica {from} of a {clusterSize}-replica cluster: " +
                $"this cluster has replicas {string.Join(",", options.Endpoints.Keys.Order())}. Check --peers on both sides.";
            logger.LogWarning("{Reason}", reason);
            await connection.Transport.Output.WriteAsync(PeerWire.Refusal(reason), cancellation);
            return;
        }

        await connection.Transport.Output.WriteAsync(new[] { PeerWire.Accepted }, cancellation);
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
        {
            PeerWire.EnableKeepAlive(socket);
        }

        byte[]? large = null;
        var largeFilled = 0;
        while (true)
        {
            var result = await input.ReadAsync(cancellation);
            var buffer = result.Buffer;
            while (true)
            {
                if (large is not null)
                {
                    var take = (int)Math.Min(buffer.Length, large.Length - largeFilled);
                    buffer.Slice(0, take).CopyTo(large.AsSpan(largeFilled));
                    largeFilled += take;
                    buffer = buffer.Slice(take);
                    if (largeFilled < large.Length)
                    {
                        break;
                    }

                    Deliver(from, new ReadOnlySequence<byte>(large));
                    large = null;
                    continue;
                }

                if (buffer.Length < PeerWire.LengthPrefixBytes)
                {
                    break;
                }

                var length = ReadLength(buffer);
                if (length > options.PeerMessageBytesMax)
                {
                    logger.LogWarning("replica {Id}: closed the connection from replica {From}: it sent a message of {Bytes} bytes, over the limit of {Max} (PeerMessageBytesMax).",
                        options.Id, from, length, options.PeerMessageBytesMax);
                    return;
                }

                if (buffer.Length >= PeerWire.LengthPrefixBytes + length)
                {
                    Deliver(from, buffer.Slice(PeerWire.LengthPrefixBytes, length));
                    buffer = buffer.Slice(PeerWire.LengthPrefixBytes + length);
                    continue;
                }

                if (length <= InPlaceMessageBytesMax)
                {
                    break;
                }

                large = new byte[length];
                largeFilled = 0;
                buffer = buffer.Slice(PeerWire.LengthPrefixBytes);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }
        }
    }

    private static long ReadLength(ReadOnlySequence<byte> buffer)
    {
        Span<byte> prefix = stackalloc byte[PeerWire.LengthPrefixBytes];
        buffer.Slice(0, PeerWire.LengthPrefixBytes).CopyTo(prefix);
        return BinaryPrimitives.ReadUInt32LittleEndian(prefix);
    }

    private void Deliver(int from, ReadOnlySequence<byte> bytes)
    {
        try
        {
            host.PostFromPeer(new PeerInput(PeerMessageCodec.Decode(from, PeerMessage.Parser.ParseFrom(bytes))));
        }
        catch (Exception e) when (e is FormatException or InvalidProtocolBufferException)
        {
            logger.LogWarning("replica {Id}: dropped a malformed message from replica {From}: {Reason}", options.Id, from, e.Message);
        }
    }

    private static async ValueTask<bool> ReadExactlyAsync(PipeReader input, byte[] target, CancellationToken cancellation)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellation);
            if (result.Buffer.Length >= target.Length)
            {
                result.Buffer.Slice(0, target.Length).CopyTo(target);
                input.AdvanceTo(result.Buffer.GetPosition(target.Length));
                return true;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(result.Buffer.End);
                return false;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
