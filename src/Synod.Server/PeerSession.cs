using System.IO.Pipelines;
using System.Net.Security;

namespace Synod.Server;

/// <summary>
/// The streams of one incoming peer connection: the transport, TLS over it once started, and the frame reader over
/// whichever carries the hello and the messages. Disposing it returns the reader's buffers and ends TLS; the
/// transport itself stays Kestrel's.
/// </summary>
internal sealed class PeerSession(Stream transport) : IAsyncDisposable
{
    public SslStream? Tls { get; private set; }

    /// <summary>What the hello, the answer and the messages travel on.</summary>
    public Stream Stream => Tls ?? transport;

    public PipeReader? Reader { get; private set; }

    public SslStream StartTls()
    {
        Tls = new SslStream(transport, leaveInnerStreamOpen: true);
        return Tls;
    }

    public PipeReader StartReading(StreamPipeReaderOptions options) => Reader = PipeReader.Create(Stream, options);

    public async ValueTask DisposeAsync()
    {
        if (Reader is not null)
        {
            await Reader.CompleteAsync();
        }

        if (Tls is not null)
        {
            await Tls.DisposeAsync();
        }
    }
}
