using System.Net;

namespace Synod.Chaos;

/// <summary>
/// The network of a local cluster under test: one <see cref="LinkProxy"/> per ordered pair of replicas. Replica i
/// sends all its Paxos traffic to j over one connection to the endpoint its --peers names for j; here that is the
/// proxy for i->j, which forwards to j's real listen endpoint. Blocking that proxy drops exactly i's traffic to j, so
/// any partition, one-way or both ways, is a set of blocked proxies. Clients talk to the real endpoints and are never
/// cut. See README.md.
/// </summary>
public sealed class PartitionNetwork : IChaosNetwork
{
    /// <summary>
    /// Replica ids in one network: the proxies grow as its square (n(n-1)), and Paxos clusters stay small; a chaos run that
    /// changes the membership makes proxies for the spare ids its replacements take, up to this many ids in all.
    /// </summary>
    public const int ReplicasMax = 16;

    private readonly SortedDictionary<int, IPEndPoint> _listen;
    private readonly Dictionary<ReplicaLink, LinkProxy> _proxies;
    private readonly Lock _gate = new();
    private readonly List<string> _cuts = [];

    private PartitionNetwork(SortedDictionary<int, IPEndPoint> listen, Dictionary<ReplicaLink, LinkProxy> proxies)
    {
        _listen = listen;
        _proxies = proxies;
    }

    public IReadOnlyList<int> ReplicaIds => [.. _listen.Keys];

    /// <summary>Every proxy, by the link it carries.</summary>
    public IReadOnlyDictionary<ReplicaLink, LinkProxy> Proxies => _proxies;

    /// <summary>The links blocked now, in order.</summary>
    public IReadOnlyList<ReplicaLink> BlockedLinks =>
        [.. _proxies.Where(p => p.Value.IsBlocked).Select(p => p.Key).OrderBy(l => l.From).ThenBy(l => l.To)];

    /// <summary>
    /// The partition now, for logs: "fully connected", "1,2 | 3,4,5" (cut both ways), "1,2 -> 3,4,5 blocked" (one
    /// way), or several such joined by "; " when cuts were combined.
    /// </summary>
    public string Description
    {
        get
        {
            lock (_gate)
            {
                return _cuts.Count == 0 ? "fully connected" : string.Join("; ", _cuts);
            }
        }
    }

    /// <summary>
    /// Starts the proxies for a cluster whose replicas listen at <paramref name="listenEndpoints"/> (id to
    /// "127.0.0.1:PORT"; loopback only). Every link starts healed.
    /// </summary>
    public static PartitionNetwork Start(IReadOnlyDictionary<int, string> listenEndpoints)
    {
        if (listenEndpoints.Count is < 2 or > ReplicasMax)
        {
            throw new ArgumentException(
                $"a partition network needs 2 to {ReplicasMax} replicas ({ReplicasMax} keeps the proxies, one per ordered pair, few); got {listenEndpoints.Count}.",
                nameof(listenEndpoints));
        }

        var listen = new SortedDictionary<int, IPEndPoint>(
            listenEndpoints.ToDictionary(e => e.Key, e => LoopbackEndpoint.Parse(e.Value, $"replica {e.Key}'s listen endpoint")));
        var proxies = new Dictionary<ReplicaLink, LinkProxy>();
        try
        {
            foreach (var from in listen.Keys)
            {
                foreach (var (to, target) in listen.Where(e => e.Key != from))
                {
                    var link = new ReplicaLink(from, to);
                    proxies[link] = LinkProxy.Start(target, name: link.ToString());
                }
            }
        }
        catch
        {
            foreach (var proxy in proxies.Values)
            {
                proxy.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            throw;
        }

        return new PartitionNetwork(listen, proxies);
    }

    /// <summary>The endpoint replica <paramref name="id"/> must listen on (`synod serve --listen`).</summary>
    public string ListenEndpoint(int id) => Listen(id).ToString();

    /// <summary>
    /// The `synod serve --peers` value for replica <paramref name="id"/> of the first configuration (<paramref name="members"/>;
    /// null: every replica of the network): its own real listen endpoint, and for every other replica the proxy that
    /// carries this replica's traffic to it.
    /// </summary>
    public string PeersFor(int id, IEnumerable<int>? members = null)
    {
        Listen(id);
        return string.Join(",", (members ?? _listen.Keys).Order().Select(other => $"{other}={(other == id ? ListenEndpoint(id) : Proxy(id, other).ListenEndpoint)}"));
    }

    /// <summary>The `synod serve --peer-routes` value for replica <paramref name="id"/>: the proxy to every other id of the network.</summary>
    public string RoutesFor(int id) =>
        string.Join(",", _listen.Keys.Where(other => other != id).Select(other => $"{other}={Proxy(id, other).ListenEndpoint}"));

    string? IChaosNetwork.RoutesFor(int id) => RoutesFor(id);

    /// <summary>Replicas run as they are: the proxies stand between them.</summary>
    public IReadOnlyList<string> ProgramPrefix(int id) => [];

    /// <summary>The proxy carrying replica <paramref name="from"/>'s traffic to replica <paramref name="to"/>.</summary>
    public LinkProxy Proxy(int from, int to) =>
        _proxies.TryGetValue(new ReplicaLink(from, to), out var proxy)
            ? proxy
            : throw new ArgumentException($"there is no link {from}->{to}: replicas are {string.Join(",", _listen.Keys)}, and a replica has no link to itself.");

    /// <summary>
    /// Blocks every link from <paramref name="sideA"/> to <paramref name="sideB"/>, and back unless
    /// <paramref name="oneWay"/>. Cuts add up: links blocked earlier stay blocked until <see cref="HealAll"/>.
    /// </summary>
    public void Cut(IEnumerable<int> sideA, IEnumerable<int> sideB, bool oneWay = false)
    {
        var a = CheckSide(sideA, nameof(sideA));
        var b = CheckSide(sideB, nameof(sideB));
        var shared = a.Intersect(b).ToList();
        if (shared.Count > 0)
        {
            throw new ArgumentException($"replica {Side(shared)} is on both sides of the cut ({Side(a)} and {Side(b)}); a replica cannot be cut off from itself.");
        }

        lock (_gate)
        {
            foreach (var from in a)
            {
                foreach (var to in b)
                {
                    Proxy(from, to).Block();
                    if (!oneWay)
                    {
                        Proxy(to, from).Block();
                    }
                }
            }

            var cut = oneWay ? $"{Side(a)} -> {Side(b)} blocked" : $"{Side(a)} | {Side(b)}";
            if (!_cuts.Contains(cut))
            {
                _cuts.Add(cut);
            }
        }
    }

    /// <summary>Unblocks every link. Cut connections stay closed; the replicas reconnect on their own.</summary>
    /// <summary>Not here: a proxy carries a byte stream, not packets, and has none to drop (ChaosOptions refuses loss without --net netns).</summary>
    public void Lose(IEnumerable<int> ids, int percent) =>
        throw new NotSupportedException("packet loss needs --net netns: link proxies carry byte streams, not packets.");

    /// <summary>Not here: a delay needs the switch between namespaces (ChaosOptions refuses it without --net netns).</summary>
    public void Delay(IEnumerable<int> ids, TimeSpan delay) =>
        throw new NotSupportedException("delays need --net netns: the switch between namespaces holds the packets.");

    public void HealAll()
    {
        lock (_gate)
        {
            foreach (var proxy in _proxies.Values)
            {
                proxy.Heal();
            }

            _cuts.Clear();
        }
    }

    public override string ToString() => $"{Description} ({string.Join("; ", _proxies.Values.OrderBy(p => p.Name, StringComparer.Ordinal))})";

    public async ValueTask DisposeAsync()
    {
        foreach (var proxy in _proxies.Values)
        {
            await proxy.DisposeAsync();
        }
    }

    private static string Side(IEnumerable<int> ids) => string.Join(",", ids);

    private IPEndPoint Listen(int id) =>
        _listen.TryGetValue(id, out var endpoint)
            ? endpoint
            : throw new ArgumentException($"replica {id} is not in this network (replicas {string.Join(",", _listen.Keys)}).");

    private SortedSet<int> CheckSide(IEnumerable<int> side, string name)
    {
        var ids = new SortedSet<int>(side);
        if (ids.Count == 0)
        {
            throw new ArgumentException("each side of a cut needs at least one replica.", name);
        }

        foreach (var id in ids)
        {
            Listen(id);
        }

        return ids;
    }
}
