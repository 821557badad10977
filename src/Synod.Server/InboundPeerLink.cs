using Microsoft.AspNetCore.Connections;

namespace Synod.Server;

/// <summary>
/// One accepted connection from a peer, as the receiver keeps it: at most one per peer id is live, and a newer one
/// from the same id closes it (<see cref="Replace"/>). A replica that reconnects after a failure it noticed first
/// thereby takes over from its own half-open connection at once, and nobody can hold several links in one name.
/// </summary>
internal sealed class InboundPeerLink(ConnectionContext connection, CancellationTokenSource cancellation)
{
    private int _replaced;

    public bool Replaced => Volatile.Read(ref _replaced) != 0;

    public string Remote => connection.RemoteEndPoint?.ToString() ?? "?";

    /// <summary>Stops this link's reader and closes its connection.</summary>
    public void Replace()
    {
        Volatile.Write(ref _replaced, 1);
        try
        {
            cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The link ended on its own meanwhile.
        }

        connection.Abort(new ConnectionAbortedException("a newer link from the same replica replaced this one"));
    }
}
