using Grpc.Core;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Synod.Server;

/// <summary>
/// Bytes of read responses that their readers have not yet taken, per connection and in total. HTTP/2 lets a client
/// stop reading (a zero flow-control window) while the replica holds each finished response whole; without this, a
/// client that asks for a large value on many streams and reads none grows the replica without limit. A read counts
/// from the moment its value is in hand until its stream ends on the wire (<see cref="ConnectionResponses"/>).
/// </summary>
internal sealed class ResponseBudget(ServerOptions options)
{
    private static readonly object ConnectionKey = new();
    private long _heldBytes;

    /// <summary>Bytes held by unfinished responses, over all connections.</summary>
    public long HeldBytes => Interlocked.Read(ref _heldBytes);

    /// <summary>
    /// Wraps a client connection's transport so that its streams' ends are seen; the connection's responses are
    /// released when <paramref name="next"/> returns.
    /// </summary>
    public async Task WatchAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var responses = new ConnectionResponses(bytes => Interlocked.Add(ref _heldBytes, -bytes));
        connection.Items[ConnectionKey] = responses;
        var transport = connection.Transport;
        connection.Transport = new FrameWatchingTransport(transport, responses);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = transport;
            responses.Closed();
        }
    }

    /// <summary>
    /// Counts <paramref name="bytes"/> against this call's connection and the whole replica until the call's stream
    /// ends, or throws RESOURCE_EXHAUSTED naming the limit it would pass.
    /// </summary>
    public void Reserve(ServerCallContext context, long bytes)
    {
        var http = context.GetHttpContext();
        if (http.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ConnectionKey, out var found) != true
            || found is not ConnectionResponses responses
            || http.Features.Get<IHttp2StreamIdFeature>() is not { } stream)
        {
            throw new InvalidOperationException("a read arrived on a connection whose streams are not watched; ResponseBudget.WatchAsync must wrap every client connection.");
        }

        if (Interlocked.Add(ref _heldBytes, bytes) > options.ClientResponseBytesMax)
        {
            Interlocked.Add(ref _heldBytes, -bytes);
            throw Exhausted(bytes, $"unread responses on all connections already hold {HeldBytes} bytes, and ClientResponseBytesMax is {options.ClientResponseBytesMax}");
        }

        if (!responses.TryHold((uint)stream.StreamId, bytes, options.ClientResponseBytesPerConnectionMax))
        {
            Interlocked.Add(ref _heldBytes, -bytes);
            throw Exhausted(bytes, $"this connection's unread responses already hold {responses.HeldBytes} bytes, and ClientResponseBytesPerConnectionMax is {options.ClientResponseBytesPerConnectionMax}");
        }
    }

    private static RpcException Exhausted(long bytes, string why) => new(new Status(StatusCode.ResourceExhausted,
        $"the replica will not hold another {bytes}-byte response for a reader that has not taken its earlier ones: {why}. Read the responses already asked for, or spread reads over more connections."));
}
