using Microsoft.Extensions.Logging;
using Synod.Core.Messages;

namespace Synod.Server;

/// <summary>This replica's outgoing streams, one <see cref="PeerLink"/> per peer.</summary>
internal sealed class PeerLinks : IAsyncDisposable
{
    private readonly Dictionary<int, PeerLink> _links = [];

    public PeerLinks(ServerOptions options, ReplicaHost host, ILoggerFactory loggers)
    {
        foreach (var (id, endpoint) in options.Endpoints)
        {
            if (id != options.Id)
            {
                _links[id] = new PeerLink(options, id, endpoint, loggers.CreateLogger($"replica-{options.Id}.peer-{id}"));
            }
        }

        _ = host;
    }

    public void Start(CancellationToken cancellation)
    {
        foreach (var link in _links.Values)
        {
            link.Start(cancellation);
        }
    }

    /// <summary>Queues each message on its peer's link, then sends: one write per peer for the whole list.</summary>
    public void Send(IReadOnlyList<Message> messages)
    {
        if (messages.Count == 0)
        {
            return;
        }

        foreach (var message in messages)
        {
            if (_links.TryGetValue(message.To, out var link))
            {
                link.Enqueue(message);
            }
        }

        foreach (var link in _links.Values)
        {
            link.Kick();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var link in _links.Values)
        {
            await link.DisposeAsync();
        }
    }
}
