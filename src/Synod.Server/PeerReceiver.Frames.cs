using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Synod.Core;
using Synod.Protocol.Peer;

namespace Synod.Server;

/// <summary>An accepted peer's messages: one live link per peer id, frames read as their bytes arrive, each within a deadline.</summary>
internal sealed partial class PeerReceiver
{
    private async Task ReceiveLinkAsync(ConnectionContext connection, int from, PipeReader reader, CancellationTokenSource cancellation)
    {
        var link = new InboundPeerLink(connection, cancellation);
        Admit(from, link);
        try
        {
            await ReadFramesAsync(from, reader, cancellation);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            if (!link.Replaced && !Closing(connection))
            {
                _log.Write(LogLevel.Warning, PeerLogKind.FrameTimeout,
                    $"replica {Id} closed the connection from replica {from}: a message it had begun did not arrive whole within {_options.PeerFrameTimeoutMs} ms (PeerFrameTimeoutMs).");
            }
        }
        finally
        {
            Release(from, link);
        }
    }

    /// <summary>Makes <paramref name="link"/> replica <paramref name="from"/>'s live link and closes the one it replaces.</summary>
    private void Admit(int from, InboundPeerLink link)
    {
        InboundPeerLink? older;
        lock (_inboundGate)
        {
            _inbound.Remove(from, out older);
            _inbound[from] = link;
        }

        if (older is not null)
        {
            // Outside the lock: closing runs the older reader's cancellation callbacks.
            older.Replace();
            _log.Write(LogLevel.Information, PeerLogKind.Replaced,
                $"replica {Id}: a new link from replica {from} ({link.Remote}) replaced the open one ({older.Remote}), which is closed.");
        }
    }

    private void Release(int from, InboundPeerLink link)
    {
        lock (_inboundGate)
        {
            if (_inbound.TryGetValue(from, out var current) && ReferenceEquals(current, link))
            {
                _inbound.Remove(from);
            }
        }
    }

    /// <summary>
    /// Delivers each whole frame and keeps what has arrived of the next, reading more as it comes: the buffer grows by
    /// the bytes received, never by the length announced. The deadline runs while a frame is incomplete and starts
    /// again with each new frame.
    /// </summary>
    private async Task ReadFramesAsync(int from, PipeReader reader, CancellationTokenSource cancellation)
    {
        var deadlineArmed = false;
        while (true)
        {
            var result = await reader.ReadAsync(cancellation.Token);
            var buffer = result.Buffer;
            var delivered = false;
            while (buffer.Length >= PeerWire.LengthPrefixBytes)
            {
                var length = ReadLength(buffer);
                if (length > _options.PeerMessageBytesMax)
                {
                    _log.Write(LogLevel.Warning, PeerLogKind.OversizedMessage,
                        $"replica {Id} closed the connection from replica {from}: it announced a message of {length} bytes, over the limit of {_options.PeerMessageBytesMax} (PeerMessageBytesMax).");
                    return;
                }

                if (buffer.Length < PeerWire.LengthPrefixBytes + length)
                {
                    break;
                }

                Deliver(from, buffer.Slice(PeerWire.LengthPrefixBytes, length));
                buffer = buffer.Slice(PeerWire.LengthPrefixBytes + length);
                delivered = true;
            }

            if (buffer.IsEmpty)
            {
                if (deadlineArmed)
                {
                    cancellation.CancelAfter(Timeout.Infinite);
                    deadlineArmed = false;
                }
            }
            else if (!deadlineArmed || delivered)
            {
                cancellation.CancelAfter(_options.PeerFrameTimeoutMs);
                deadlineArmed = true;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
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
            var message = _host.Frames.Decode(from, bytes, out var lent);
            if (PeerMessageRules.Violation(message, _rules) is { } violation)
            {
                // Checked here so it never queues for the owner loop; the core checks the same rules again.
                _host.Frames.GiveBack(lent);
                _host.NoteRefusedPeerMessage();
                _log.Write(LogLevel.Warning, PeerLogKind.RuleBroken,
                    $"replica {Id}: dropped a {message.GetType().Name} from replica {from} that no correct replica could send (docs/protocol.md, peer message rules): {violation}");
                return;
            }

            _host.PostFromPeer(new PeerInput(message, lent));
        }
        catch (Exception e) when (e is FormatException or InvalidProtocolBufferException)
        {
            _log.Write(LogLevel.Warning, PeerLogKind.MalformedMessage, $"replica {Id}: dropped a malformed message from replica {from}: {e.Message}");
        }
    }
}
