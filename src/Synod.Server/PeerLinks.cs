using Microsoft.Extensions.Logging;
using Synod.Core.Messages;

namespace Synod.Server;

/// <summary>This replica's outgoing streams, one <see cref="PeerLink"/> per peer.</summary>
internal sealed class PeerLinks : IAsyncDisposable
{
    private readonly Dictionary<int, PeerLink> _links = [];
    private readonly ServerOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly List<PeerLink> _retired = [];
    private bool _started;

    public PeerLinks(ServerOptions options, ReplicaHost host, ILoggerFactory loggers)
    {
        _options = options;
        _loggers = loggers;
        foreach (var (id, endpoint) in options.Endpoints)
        {
            if (id != options.Id)
            {
                _links[id] = new PeerLink(options, id, options.DialEndpoint(id, endpoint), loggers.CreateLogger($"replica-{options.Id}.peer-{id}"));
            }
        }

        _ = host;
    }

    public void Start(CancellationToken cancellation)
    {
        _started = true;
        foreach (var link in _links.Values)
        {
            link.Start(cancellation);
        }
    }

    /// <summary>
    /// The members changed (owner loop): a link to each new one, or to a new endpoint of one; the links to replicas no
    /// configuration holds any more are closed.
    /// </summary>
    public void Follow(IReadOnlyDictionary<int, string> endpoints, CancellationToken cancellation)
    {
        foreach (var (id, member) in endpoints)
        {
            var endpoint = _options.DialEndpoint(id, member);
            if (_links.TryGetValue(id, out var existing) && existing.Endpoint == endpoint)
            {
                continue;
            }

            if (existing is not null)
            {
                _retired.Add(existing);
            }

            var link = new PeerLink(_options, id, endpoint, _loggers.CreateLogger($"replica-{_options.Id}.peer-{id}"));
            _links[id] = link;
            if (_started)
            {
                link.Start(cancellation);
            }
        }

        foreach (var id in _links.Keys.Where(id => !endpoints.ContainsKey(id) && !_options.Endpoints.ContainsKey(id)).ToList())
        {
            _retired.Add(_links[id]);
            _links.Remove(id);
        }

        foreach (var link in _retired.ToList())
        {
            _retired.Remove(link);
            _ = link.DisposeAsync().AsTask();
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
