using System.Buffers;
using System.IO.Pipelines;

namespace Synod.Server;

/// <summary>
/// A client connection's transport as Kestrel's HTTP/2 sees it, with both directions passed through a
/// <see cref="Http2FrameScanner"/> so that <see cref="ConnectionResponses"/> learns when each stream ended. Bytes are
/// scanned once Kestrel consumed them (input) or handed them to the socket (output), never changed.
/// </summary>
internal sealed class FrameWatchingTransport(IDuplexPipe inner, ConnectionResponses responses) : IDuplexPipe
{
    /// <summary>"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", which starts the client's direction.</summary>
    private const int ClientPrefaceBytes = 24;

    public PipeReader Input { get; } = new WatchedReader(inner.Input, new Http2FrameScanner(ClientPrefaceBytes, responses.StreamEnded));

    public PipeWriter Output { get; } = new WatchedWriter(inner.Output, new Http2FrameScanner(0, responses.StreamEnded));

    private sealed class WatchedReader(PipeReader inner, Http2FrameScanner scanner) : PipeReader
    {
        private ReadOnlySequence<byte> _last;

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var result = await inner.ReadAsync(cancellationToken);
            _last = result.Buffer;
            return result;
        }

        public override bool TryRead(out ReadResult result)
        {
            if (inner.TryRead(out result))
            {
                _last = result.Buffer;
                return true;
            }

            return false;
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            scanner.Feed(_last.Slice(_last.Start, consumed));
            _last = default;
            inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }

    private sealed class WatchedWriter(PipeWriter inner, Http2FrameScanner scanner) : PipeWriter
    {
        private Memory<byte> _lastMemory;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _lastMemory = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_lastMemory = inner.GetMemory(sizeHint)).Span;

        public override void Advance(int bytes)
        {
            scanner.Feed(_lastMemory.Span[..bytes]);
            _lastMemory = default;
            inner.Advance(bytes);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            scanner.Feed(source.Span);
            return inner.WriteAsync(source, cancellationToken);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;
    }
}
