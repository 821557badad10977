using System.Buffers;

namespace Synod.Server;

/// <summary>
/// Follows one direction of an HTTP/2 connection (RFC 9113 section 4.1) from the bytes that pass, reading only each
/// frame's 9-byte header and skipping its payload, and reports the frames that end a stream: a DATA or HEADERS frame
/// with END_STREAM, or an RST_STREAM. The client's direction begins with the 24-byte connection preface.
/// </summary>
internal sealed class Http2FrameScanner(int prefaceBytes, Action<uint> streamEnded)
{
    private const int FrameHeaderBytes = 9;
    private const byte DataFrame = 0x0;
    private const byte HeadersFrame = 0x1;
    private const byte ResetStreamFrame = 0x3;
    private const byte EndStream = 0x1;

    private readonly byte[] _header = new byte[FrameHeaderBytes];
    private long _skip = prefaceBytes;
    private int _headerHave;

    public void Feed(ReadOnlySequence<byte> bytes)
    {
        foreach (var segment in bytes)
        {
            Feed(segment.Span);
        }
    }

    public void Feed(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_skip > 0)
            {
                var skipped = (int)Math.Min(_skip, bytes.Length);
                _skip -= skipped;
                bytes = bytes[skipped..];
                continue;
            }

            var take = Math.Min(FrameHeaderBytes - _headerHave, bytes.Length);
            bytes[..take].CopyTo(_header.AsSpan(_headerHave));
            _headerHave += take;
            bytes = bytes[take..];
            if (_headerHave < FrameHeaderBytes)
            {
                return;
            }

            _headerHave = 0;
            _skip = (_header[0] << 16) | (_header[1] << 8) | _header[2];
            var type = _header[3];
            var flags = _header[4];
            var stream = (uint)((_header[5] & 0x7F) << 24 | _header[6] << 16 | _header[7] << 8 | _header[8]);
            if (stream != 0 && (type == ResetStreamFrame || (type is DataFrame or HeadersFrame && (flags & EndStream) != 0)))
            {
                streamEnded(stream);
            }
        }
    }
}
