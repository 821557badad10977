using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Synod.Protocol;

namespace Synod.Tests.Cluster;

/// <summary>
/// A client that asks and never reads, written from RFC 9113 and the gRPC wire format rather than with an HTTP/2
/// library (which would read): the preface, SETTINGS with an initial window of 0 (so no stream may receive a byte of
/// DATA), the server's SETTINGS read and acknowledged (to learn how many streams it allows at once), then one HEADERS
/// and one DATA frame per Get, and nothing read from the socket ever after.
/// </summary>
internal sealed class UnreadingHttp2Client : IAsyncDisposable
{
    private const byte DataFrame = 0x0;
    private const byte HeadersFrame = 0x1;
    private const byte SettingsFrame = 0x4;
    private const byte EndStream = 0x1;
    private const byte EndHeaders = 0x4;
    private const byte Ack = 0x1;
    private const ushort MaxConcurrentStreamsSetting = 0x3;
    private const ushort InitialWindowSizeSetting = 0x4;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly string _authority;
    private uint _nextStream = 1;

    private UnreadingHttp2Client(Socket socket, string authority)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _authority = authority;
    }

    public static async Task<UnreadingHttp2Client> ConnectAsync(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        var client = new UnreadingHttp2Client(socket, endpoint);
        var settings = new byte[6];
        BinaryPrimitives.WriteUInt16BigEndian(settings, InitialWindowSizeSetting);
        BinaryPrimitives.WriteUInt32BigEndian(settings.AsSpan(2), 0);
        await client._stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        await client._stream.WriteAsync(Frame(SettingsFrame, 0, 0, settings));
        client.StreamsAllowed = await client.ReadServerSettingsAsync();
        await client._stream.WriteAsync(Frame(SettingsFrame, Ack, 0, []));
        return client;
    }

    /// <summary>The server's SETTINGS_MAX_CONCURRENT_STREAMS, or uint.MaxValue if it sets none.</summary>
    public uint StreamsAllowed { get; private set; }

    private async Task<uint> ReadServerSettingsAsync()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var header = new byte[9];
        await _stream.ReadExactlyAsync(header, limit.Token);
        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        Assert.True(header[3] == SettingsFrame, $"the server's first frame is of type {header[3]}, not SETTINGS");
        var payload = new byte[length];
        await _stream.ReadExactlyAsync(payload, limit.Token);
        var allowed = uint.MaxValue;
        for (var at = 0; at + 6 <= length; at += 6)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(at)) == MaxConcurrentStreamsSetting)
            {
                allowed = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(at + 2));
            }
        }

        return allowed;
    }

    /// <summary>Sends <paramref name="count"/> Get requests for <paramref name="key"/>, each on a new stream.</summary>
    public async Task SendGetsAsync(string key, int count, CancellationToken cancellation)
    {
        var message = new GetRequest { Key = ByteString.CopyFromUtf8(key), Stale = true }.ToByteArray();
        var body = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(1), (uint)message.Length);
        message.CopyTo(body, 5);
        var headers = Headers(
            (":method", "POST"), (":scheme", "http"), (":path", $"/{Synod.Protocol.Kv.Descriptor.FullName}/Get"), (":authority", _authority),
            ("content-type", "application/grpc"), ("te", "trailers"));
        for (var i = 0; i < count; i++)
        {
            var stream = _nextStream;
            _nextStream += 2;
            byte[] frames = [.. Frame(HeadersFrame, EndHeaders, stream, headers), .. Frame(DataFrame, EndStream, stream, body)];
            await _stream.WriteAsync(frames, cancellation);
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Close(0);
        return _stream.DisposeAsync();
    }

    /// <summary>A header block of literal fields without indexing and with literal names (RFC 7541 6.2.2), no Huffman.</summary>
    private static byte[] Headers(params (string Name, string Value)[] fields)
    {
        var block = new List<byte>();
        foreach (var (name, value) in fields)
        {
            block.Add(0x00);
            AddString(block, name);
            AddString(block, value);
        }

        return [.. block];
    }

    private static void AddString(List<byte> block, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        if (bytes.Length >= 127)
        {
            throw new ArgumentException($"'{text}' is too long for a one-byte HPACK length.");
        }

        block.Add((byte)bytes.Length);
        block.AddRange(bytes);
    }

    private static byte[] Frame(byte type, byte flags, uint stream, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame, 9);
        return frame;
    }
}
