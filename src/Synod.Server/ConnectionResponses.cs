namespace Synod.Server;

/// <summary>
/// One client connection's read responses that are not yet sent whole: bytes per HTTP/2 stream, from the moment a
/// read's value is in hand until the connection's own frames show the stream ended (END_STREAM or RST_STREAM in either
/// direction) or the connection closes. Kestrel reports a request complete once its response is queued, which for a
/// reader that takes nothing may be never sent; only the frames on the wire say when it was.
/// </summary>
internal sealed class ConnectionResponses(Action<long> released)
{
    private readonly Dictionary<uint, long> _byStream = [];
    private bool _closed;

    public long HeldBytes { get; private set; }

    /// <summary>Counts <paramref name="bytes"/> for the stream if the connection holds less than <paramref name="limit"/> with them; false otherwise.</summary>
    public bool TryHold(uint stream, long bytes, long limit)
    {
        lock (_byStream)
        {
            if (_closed || HeldBytes + bytes > limit)
            {
                return false;
            }

            _byStream[stream] = _byStream.GetValueOrDefault(stream) + bytes;
            HeldBytes += bytes;
            return true;
        }
    }

    public void StreamEnded(uint stream)
    {
        long bytes;
        lock (_byStream)
        {
            if (!_byStream.Remove(stream, out bytes))
            {
                return;
            }

            HeldBytes -= bytes;
        }

        released(bytes);
    }

    public void Closed()
    {
        long bytes;
        lock (_byStream)
        {
            _closed = true;
            bytes = HeldBytes;
            HeldBytes = 0;
            _byStream.Clear();
        }

        if (bytes != 0)
        {
            released(bytes);
        }
    }
}
