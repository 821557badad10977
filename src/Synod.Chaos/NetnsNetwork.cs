using System.Diagnostics;
using System.Globalization;

namespace Synod.Chaos;

/// <summary>
/// Replicas on a network of their own (`synod chaos --net netns`, issue 20): one Linux network namespace per replica id,
/// joined to a bridge by a veth pair, at 10.213.N.id/24 (N drawn per network); the bridge has .254, so that clients in
/// the root namespace reach every replica. A partition is nftables rules inside the namespaces: real packet drops, no
/// proxy. Both ways, every packet between the two sides is dropped; one way (A -> B), A's packets to B's replica port
/// are dropped, which stops A's own connections to B (as the proxies' one-way cut does) while B's to A still carry.
/// Everything is created here and removed on dispose; traffic goes only to these addresses. Needs root, `ip` and `nft`.
/// </summary>
public sealed class NetnsNetwork : IChaosNetwork
{
    /// <summary>The port every replica listens on, on its own address.</summary>
    public const int ReplicaPort = 7001;

    private readonly string _tag;
    private readonly int _subnet;
    private readonly IReadOnlyList<int> _ids;
    private readonly Lock _gate = new();
    private readonly List<string> _cuts = [];
    private readonly HashSet<int> _filtered = [];

    /// <summary>The user-space switch that joins the namespaces instead of a bridge, when the links are shaped; else null.</summary>
    private TunSwitch? _switch;

    private NetnsNetwork(string tag, int subnet, IReadOnlyList<int> ids)
    {
        _tag = tag;
        _subnet = subnet;
        _ids = ids;
    }

    /// <summary>The host part of the root namespace's address (clients reach the replicas from it).</summary>
    public const int RootHost = 254;

    /// <summary>The switch's packets forwarded, lost and discarded so far (zeros on a bridge).</summary>
    public (long Forwarded, long Lost, long Discarded) SwitchCounts => _switch is { } s ? (s.Forwarded, s.Lost, s.Discarded) : (0, 0, 0);

    public string Description
    {
        get
        {
            lock (_gate)
            {
                var links = _switch is null ? "" : $", peer links {Shape(_shape)}";
                return _cuts.Count == 0 ? $"fully connected (network namespaces{links})" : string.Join("; ", _cuts);
            }
        }
    }

    private string Bridge => $"synbr{_tag}";

    /// <summary>Why namespaces cannot be made here, or null if they can.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return "not root on Linux";
        }

        foreach (var tool in new[] { "/usr/sbin/ip", "/usr/sbin/nft" })
        {
            if (!File.Exists(tool))
            {
                return $"{tool} is missing";
            }
        }

        return null;
    }

    /// <summary>
    /// Makes one namespace per id in <paramref name="ids"/>, each with its address, joined by a <see cref="TunSwitch"/>
    /// that gives every link between two replicas <paramref name="peerLinks"/> (delay, jitter, loss; the links to the
    /// root namespace, where clients run, are not shaped): for WAN figures on a kernel without netem.
    /// </summary>
    public static NetnsNetwork CreateShaped(IReadOnlyList<int> ids, TunSwitch.LinkShape peerLinks)
    {
        if (peerLinks.Problem() is { } problem)
        {
            throw new ArgumentException($"the links' shape: {problem}.", nameof(peerLinks));
        }

        var (tag, subnet) = Check(ids);
        var network = new NetnsNetwork(tag, subnet, [.. ids.Order()]) { _switch = new TunSwitch() };
        try
        {
            network._switch.ShapeAll(peerLinks);
            var root = $"synt{tag}r";
            network._switch.AddPort(RootHost, root);
            Run("ip", "addr", "add", $"10.213.{subnet}.{RootHost}/24", "dev", root);
            Run("ip", "link", "set", root, "mtu", $"{TunSwitch.PacketBytesMax}", "up");
            foreach (var id in network._ids)
            {
                var ns = network.Namespace(id);
                var device = $"synt{tag}{id}";
                Run("ip", "netns", "add", ns);
                network._switch.AddPort((byte)id, device);
                Run("ip", "link", "set", device, "netns", ns);
                Run("ip", "netns", "exec", ns, "ip", "addr", "add", $"{network.Address(id)}/24", "dev", device);
                Run("ip", "netns", "exec", ns, "ip", "link", "set", device, "mtu", $"{TunSwitch.PacketBytesMax}", "up");
                Run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
                network._switch.Shape(RootHost, (byte)id, TunSwitch.LinkShape.None);
                network._switch.Shape((byte)id, RootHost, TunSwitch.LinkShape.None);
            }
        }
        catch
        {
            network.Remove();
            throw;
        }

        network._shape = peerLinks;
        return network;
    }

    private TunSwitch.LinkShape _shape = TunSwitch.LinkShape.None;

    private static (string Tag, int Subnet) Check(IReadOnlyList<int> ids)
    {
        if (Unavailable() is { } why)
        {
            throw new InvalidOperationException($"network namespaces cannot be made here: {why}; run as root with iproute2 and nftables.");
        }

        if (ids.Count is < 1 or > 250 || ids.Any(id => id is < 1 or > 250))
        {
            throw new ArgumentException($"replica ids for a namespace network are 1 to 250; got {string.Join(",", ids)}.", nameof(ids));
        }

        return (Random.Shared.Next(0x1000, 0xffff).ToString("x4", CultureInfo.InvariantCulture), Random.Shared.Next(1, 250));
    }

    /// <summary>Makes the bridge and one namespace per id in <paramref name="ids"/>, each with its address.</summary>
    public static NetnsNetwork Create(IReadOnlyList<int> ids)
    {
        var (tag, subnet) = Check(ids);
        var network = new NetnsNetwork(tag, subnet, [.. ids.Order()]);
        try
        {
            Run("ip", "link", "add", network.Bridge, "type", "bridge");
            Run("ip", "addr", "add", $"10.213.{network._subnet}.254/24", "dev", network.Bridge);
            Run("ip", "link", "set", network.Bridge, "up");
            foreach (var id in network._ids)
            {
                var ns = network.Namespace(id);
                var inside = $"syn{tag}{id}a";
                var outside = $"syn{tag}{id}b";
                Run("ip", "netns", "add", ns);
                Run("ip", "link", "add", inside, "type", "veth", "peer", "name", outside);
                Run("ip", "link", "set", inside, "netns", ns);
                Run("ip", "link", "set", outside, "master", network.Bridge, "up");
                Run("ip", "netns", "exec", ns, "ip", "addr", "add", $"{network.Address(id)}/24", "dev", inside);
                Run("ip", "netns", "exec", ns, "ip", "link", "set", inside, "up");
                Run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
            }
        }
        catch
        {
            network.Remove();
            throw;
        }

        return network;
    }

    public string Namespace(int id) => $"synod-{_tag}-{id}";

    public string Address(int id) => $"10.213.{_subnet}.{id}";

    public string ListenEndpoint(int id) => $"{Address(Known(id))}:{ReplicaPort}";

    public string PeersFor(int id, IEnumerable<int>? members = null) =>
        string.Join(",", (members ?? _ids).Order().Select(other => $"{other}={ListenEndpoint(other)}"));

    public string? RoutesFor(int id) => null;

    public IReadOnlyList<string> ProgramPrefix(int id) => ["ip", "netns", "exec", Namespace(Known(id))];

    public void Cut(IEnumerable<int> sideA, IEnumerable<int> sideB, bool oneWay = false)
    {
        var a = sideA.Select(Known).Distinct().Order().ToList();
        var b = sideB.Select(Known).Distinct().Order().ToList();
        if (a.Count == 0 || b.Count == 0 || a.Intersect(b).Any())
        {
            throw new ArgumentException($"a cut needs two disjoint, non-empty sides; got {string.Join(",", a)} and {string.Join(",", b)}.");
        }

        lock (_gate)
        {
            foreach (var from in a)
            {
                Filter(from);
                foreach (var to in b)
                {
                    if (oneWay)
                    {
                        Run("ip", "netns", "exec", Namespace(from), "nft", "add", "rule", "inet", "synod", "out", "ip", "daddr", Address(to), "tcp", "dport", $"{ReplicaPort}", "drop");
                    }
                    else
                    {
                        Run("ip", "netns", "exec", Namespace(from), "nft", "add", "rule", "inet", "synod", "out", "ip", "daddr", Address(to), "drop");
                        Run("ip", "netns", "exec", Namespace(from), "nft", "add", "rule", "inet", "synod", "in", "ip", "saddr", Address(to), "drop");
                    }
                }
            }

            var cut = oneWay ? $"{string.Join(",", a)} -> {string.Join(",", b)} blocked" : $"{string.Join(",", a)} | {string.Join(",", b)}";
            if (!_cuts.Contains(cut))
            {
                _cuts.Add(cut);
            }
        }
    }

    public void Lose(IEnumerable<int> ids, int percent)
    {
        if (percent is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "a loss drops 1 to 100 % of the packets.");
        }

        var victims = ids.Select(Known).Distinct().Order().ToList();
        lock (_gate)
        {
            foreach (var id in victims)
            {
                Filter(id);
                foreach (var chain in new[] { "in", "out" })
                {
                    // Each packet either way is dropped with this chance, drawn by the kernel: real loss, as on a bad link.
                    Run("ip", "netns", "exec", Namespace(id), "nft", "add", "rule", "inet", "synod", chain, "numgen", "random", "mod", "100", "<", $"{percent}", "drop");
                }
            }

            _cuts.Add($"{string.Join(",", victims)} lose {percent}%");
        }
    }

    public void Delay(IEnumerable<int> ids, TimeSpan delay)
    {
        var shaping = _switch ?? throw new NotSupportedException("this network has no switch to hold packets: make it with CreateShaped.");
        var victims = ids.Select(Known).Distinct().Order().ToList();
        var shape = _shape with { Delay = delay };
        lock (_gate)
        {
            foreach (var id in victims)
            {
                // Both ways, with every other replica and with the clients' namespace: a slow or distant host.
                foreach (var other in _ids.Where(o => o != id).Append(RootHost))
                {
                    shaping.Shape((byte)id, (byte)other, shape);
                    shaping.Shape((byte)other, (byte)id, shape);
                }
            }

            _cuts.Add($"{string.Join(",", victims)} delayed {delay.TotalMilliseconds:0} ms each way");
        }
    }

    public void HealAll()
    {
        lock (_gate)
        {
            foreach (var id in _filtered)
            {
                Run("ip", "netns", "exec", Namespace(id), "nft", "delete", "table", "inet", "synod");
            }

            _filtered.Clear();
            _cuts.Clear();
            if (_switch is { } shaping)
            {
                shaping.ClearShapes();
                foreach (var id in _ids)
                {
                    shaping.Shape(RootHost, (byte)id, TunSwitch.LinkShape.None);
                    shaping.Shape((byte)id, RootHost, TunSwitch.LinkShape.None);
                }
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Remove();
        return ValueTask.CompletedTask;
    }

    /// <summary>The nftables table and chains a namespace's cuts go into, made on its first cut.</summary>
    private void Filter(int id)
    {
        if (_filtered.Add(id))
        {
            var ns = Namespace(id);
            Run("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "synod");
            Run("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "synod", "in", "{ type filter hook input priority 0; }");
            Run("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "synod", "out", "{ type filter hook output priority 0; }");
        }
    }

    private static string Shape(TunSwitch.LinkShape shape) =>
        $"{shape.Delay.TotalMilliseconds:0.###} ms" + (shape.Jitter > TimeSpan.Zero ? $" ± {shape.Jitter.TotalMilliseconds:0.###} ms" : "") +
        (shape.LossPercent > 0 ? $", {shape.LossPercent:0.##}% loss" : "");

    private int Known(int id) => _ids.Contains(id) ? id : throw new ArgumentException($"replica {id} has no namespace here: the ids are {string.Join(",", _ids)}.");

    private void Remove()
    {
        _switch?.Dispose();
        foreach (var id in _ids)
        {
            Run(check: false, "ip", "netns", "del", Namespace(id));
        }

        Run(check: false, "ip", "link", "del", Bridge);
    }

    private static void Run(params string[] command) => Run(true, command);

    private static void Run(bool check, params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command[0]}.");
        var error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(" ", command)} failed (exit {process.ExitCode}): {error.Trim()}");
        }
    }
}
