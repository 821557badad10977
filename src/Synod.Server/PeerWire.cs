using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Synod.Protocol.Peer;

namespace Synod.Server;

/// <summary>
/// The replica-to-replica wire format, on the same port as the client API: a peer connection is told from HTTP/2 by
/// its first 8 bytes (docs/protocol.md, "Peer connections", has it byte by byte). The dialer writes
/// <see cref="TlsMagic"/>; the receiver answers one status byte (<see cref="Accepted"/>: TLS follows, or a refusal), and
/// both run a TLS 1.3 handshake in which each presents its replica certificate. Inside TLS the dialer writes a hello
/// (<see cref="Magic"/>, then its id and its cluster size, each a little-endian uint32, and the cluster id, a
/// little-endian uint64: <see cref="HelloBytes"/> in all); the receiver answers one status
/// byte, 0 to accept, or 1 followed by a little-endian uint16 length and a UTF-8 reason, and then closes. After an
/// accept the dialer writes messages, each a little-endian uint32 length and a <see cref="PeerMessage"/>; the
/// receiver writes nothing more. With --insecure-peers the same hello, answer and messages run in plaintext, and the
/// connection starts with the hello itself. A magic of another version (another Synod build) is refused with a reason
/// and logged.
/// </summary>
/// <remarks>
/// gRPC streams carried these messages before; every message then crossed an HTTP/2 writer and reader and two thread
/// hand-offs on each side. Here the owner loop writes to the connection itself (docs/performance.md has the A/B).
/// </remarks>
internal static class PeerWire
{
    /// <summary>
    /// First bytes of a hello: of the whole connection in plaintext (--insecure-peers), and again inside TLS. HTTP/2
    /// starts with "PRI " and TLS with 0x16, so neither is mistaken for it. The last byte is the version, raised
    /// whenever replicas of two builds must not serve one cluster: 3 since commands and snapshots carry revisions and
    /// conditions, 4 since the log carries transactions (an older build refuses both as invalid, so it would apply the
    /// log differently), 5 since it carries compactions and snapshots carry the history window, 6 since commands carry
    /// users and auth changes (an older build would apply them as invalid, and so apply the log differently).
    /// </summary>
    public static ReadOnlySpan<byte> Magic => "SYNODPR8"u8;

    /// <summary>First bytes of an authenticated peer connection: "a TLS handshake follows".</summary>
    public static ReadOnlySpan<byte> TlsMagic => "SYNODPT8"u8;

    /// <summary>What every peer magic, of any version, begins with; the last two bytes are the mode and the version.</summary>
    public static ReadOnlySpan<byte> MagicFamily => "SYNODP"u8;

    /// <summary>What an HTTP/2 client sends first (RFC 9113, 3.4); a connection is handed to HTTP/2 once all of it arrived.</summary>
    public static ReadOnlySpan<byte> Http2Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    public const int MagicBytes = 8;

    public const int HelloBytes = 24;

    public const int LengthPrefixBytes = 4;

    public const byte Accepted = 0;

    public const byte Refused = 1;

    /// <summary>Longest refusal reason sent back, in UTF-8 bytes; a longer one is cut.</summary>
    public const int ReasonBytesMax = 1024;

    /// <summary>TCP keep-alive on peer connections: probe a silent one after this long, then every interval, and give up after the count.</summary>
    private const int KeepAliveIdleSeconds = 5;
    private const int KeepAliveIntervalSeconds = 1;
    private const int KeepAliveProbes = 5;

    /// <summary>On Linux, a connection whose sent bytes stay unacknowledged this long is closed (TCP_USER_TIMEOUT).</summary>
    private const int UnacknowledgedMsMax = 10_000;

    private const int IpProtocolTcp = 6;
    private const int TcpUserTimeoutOption = 18;

    /// <summary>
    /// Makes a peer that vanished without closing (power loss, a cut cable) noticed within seconds, not the kernel's
    /// default of many minutes: keep-alive probes when the connection is idle, and a user timeout when it is not.
    /// </summary>
    public static void EnableKeepAlive(Socket socket)
    {
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(IpProtocolTcp, TcpUserTimeoutOption, BitConverter.GetBytes(UnacknowledgedMsMax));
        }

        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, KeepAliveIdleSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, KeepAliveIntervalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, KeepAliveProbes);
    }

    /// <summary>
    /// What a connection's first bytes say it is. A strict beginning of a peer magic or of the HTTP/2 preface needs more
    /// bytes (the caller bounds how long it waits); bytes that begin neither go to Kestrel untouched, as a client's TLS
    /// will one day.
    /// </summary>
    public static ConnectionKind Classify(ReadOnlySequence<byte> buffer)
    {
        var preface = Http2Preface;
        var length = (int)Math.Min(buffer.Length, preface.Length);
        Span<byte> head = stackalloc byte[preface.Length];
        buffer.Slice(0, length).CopyTo(head);
        var seen = head[..length];
        if (length >= MagicBytes && seen[..MagicBytes].SequenceEqual(Magic))
        {
            return ConnectionKind.PlainPeer;
        }

        if (length >= MagicBytes && seen[..MagicBytes].SequenceEqual(TlsMagic))
        {
            return ConnectionKind.TlsPeer;
        }

        if (length >= MagicBytes && seen.StartsWith(MagicFamily))
        {
            return ConnectionKind.OtherPeerVersion;
        }

        if (preface.StartsWith(seen))
        {
            return length == preface.Length ? ConnectionKind.Http2 : ConnectionKind.NeedMore;
        }

        var peerPrefix = length < MagicBytes && (MagicFamily.StartsWith(seen) || seen.StartsWith(MagicFamily));
        return peerPrefix ? ConnectionKind.NeedMore : ConnectionKind.Other;
    }

    /// <summary>
    /// Reads a status byte and, for a refusal, its reason; returns on an accept and throws <see cref="IOException"/>
    /// with the peer's reason on a refusal.
    /// </summary>
    public static async Task ReadAnswerAsync(Stream stream, CancellationToken cancellation)
    {
        var answer = new byte[1];
        await stream.ReadExactlyAsync(answer, cancellation);
        if (answer[0] == Refused)
        {
            var length = new byte[2];
            await stream.ReadExactlyAsync(length, cancellation);
            var reason = new byte[BinaryPrimitives.ReadUInt16LittleEndian(length)];
            await stream.ReadExactlyAsync(reason, cancellation);
            throw new IOException($"refused: {Encoding.UTF8.GetString(reason)}");
        }

        if (answer[0] != Accepted)
        {
            throw new IOException("it did not answer as a Synod replica of this version would; check that every replica runs the same Synod version");
        }
    }

    public static byte[] Hello(int from, int clusterSize, ulong clusterId)
    {
        var hello = new byte[HelloBytes];
        Magic.CopyTo(hello);
        BinaryPrimitives.WriteUInt32LittleEndian(hello.AsSpan(8), (uint)from);
        BinaryPrimitives.WriteUInt32LittleEndian(hello.AsSpan(12), (uint)clusterSize);
        BinaryPrimitives.WriteUInt64LittleEndian(hello.AsSpan(16), clusterId);
        return hello;
    }

    /// <summary>Reads a hello from its first <see cref="HelloBytes"/> bytes, which start with <see cref="Magic"/>.</summary>
    public static (int From, int ClusterSize, ulong ClusterId) ParseHello(ReadOnlySpan<byte> hello) =>
        ((int)BinaryPrimitives.ReadUInt32LittleEndian(hello[8..]), (int)BinaryPrimitives.ReadUInt32LittleEndian(hello[12..]),
            BinaryPrimitives.ReadUInt64LittleEndian(hello[16..]));

    public static byte[] Refusal(string reason)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        var length = Math.Min(text.Length, ReasonBytesMax);
        var answer = new byte[3 + length];
        answer[0] = Refused;
        BinaryPrimitives.WriteUInt16LittleEndian(answer.AsSpan(1), (ushort)length);
        text.AsSpan(0, length).CopyTo(answer.AsSpan(3));
        return answer;
    }

    /// <summary>Appends one message with its length prefix.</summary>
    public static void Write(IBufferWriter<byte> output, PeerMessage message)
    {
        var size = message.CalculateSize();
        var span = output.GetSpan(LengthPrefixBytes + size);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)size);
        message.WriteTo(span.Slice(LengthPrefixBytes, size));
        output.Advance(LengthPrefixBytes + size);
    }
}
