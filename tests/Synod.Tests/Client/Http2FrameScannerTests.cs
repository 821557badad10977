using Synod.Server;

namespace Synod.Tests.Client;

/// <summary>
/// The scanner behind the response budget (issue 12) reports a stream's end from END_STREAM on DATA or HEADERS, or
/// RST_STREAM, however the bytes are split, and nothing else; the client's direction starts with the 24-byte preface.
/// </summary>
public sealed class Http2FrameScannerTests
{
    [Fact]
    public void Ends_are_found_in_any_split_and_other_frames_are_skipped()
    {
        byte[] bytes =
        [
            .. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8,
            .. Frame(type: 0x4, flags: 0, stream: 0, payloadBytes: 6),      // SETTINGS
            .. Frame(type: 0x1, flags: 0x4, stream: 1, payloadBytes: 40),   // HEADERS, not the end
            .. Frame(type: 0x0, flags: 0, stream: 1, payloadBytes: 300),    // DATA, not the end
            .. Frame(type: 0x0, flags: 0x1, stream: 3, payloadBytes: 9),    // DATA, END_STREAM
            .. Frame(type: 0x1, flags: 0x5, stream: 1, payloadBytes: 12),   // trailers, END_STREAM
            .. Frame(type: 0x3, flags: 0, stream: 5, payloadBytes: 4),      // RST_STREAM
            .. Frame(type: 0x8, flags: 0x1, stream: 7, payloadBytes: 4),    // WINDOW_UPDATE: flag 1 means nothing here
        ];

        for (var split = 1; split <= 17; split += 4)
        {
            var ended = new List<uint>();
            var scanner = new Http2FrameScanner(prefaceBytes: 24, ended.Add);
            for (var at = 0; at < bytes.Length; at += split)
            {
                scanner.Feed(bytes.AsSpan(at, Math.Min(split, bytes.Length - at)));
            }

            Assert.Equal([3u, 1u, 5u], ended);
        }
    }

    private static byte[] Frame(byte type, byte flags, uint stream, int payloadBytes)
    {
        var frame = new byte[9 + payloadBytes];
        frame[0] = (byte)(payloadBytes >> 16);
        frame[1] = (byte)(payloadBytes >> 8);
        frame[2] = (byte)payloadBytes;
        frame[3] = type;
        frame[4] = flags;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), stream);
        // Payload bytes that look like frame headers must not be read as such.
        frame.AsSpan(9).Fill(0x01);
        return frame;
    }
}
