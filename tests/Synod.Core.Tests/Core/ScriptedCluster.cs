using System.Text;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Tests.Core;

/// <summary>
/// A hand-driven cluster of real cores for scripted interaction tests: persistence is instant, and messages
/// move only when the script says "deliver", so every step and its trace are exact.
/// </summary>
internal sealed class ScriptedCluster
{
    private readonly int[] _members;
    private readonly Dictionary<int, Replica?> _replicas = [];
    private readonly Dictionary<int, DurableState> _disks = [];

    /// <summary>Starts of each replica so far: each start draws from its own seed, as a real restart does (a rebuild's first round, I18, must not repeat).</summary>
    private readonly Dictionary<int, uint> _starts = [];
    private readonly Dictionary<int, ReplicaRole> _roles = [];
    private readonly List<Message> _network = [];
    private readonly HashSet<(int From, int To)> _cut = [];
    private readonly StringBuilder _output = new();

    private readonly int? _batchCommandsMax;

    public ScriptedCluster(int size, int? batchCommandsMax = null)
    {
        _batchCommandsMax = batchCommandsMax;
        _members = [.. Enumerable.Range(1, size)];
        foreach (var id in _members)
        {
            _disks[id] = new DurableState();
            Start(id);
        }
    }

    public Replica Replica(int id) => _replicas[id] ?? throw new InvalidOperationException($"replica {id} is down");

    public IReadOnlyList<Message> InFlight => _network;

    public List<(int Replica, long Slot, string Batch)> Applied { get; } = [];

    public string TakeOutput()
    {
        var text = _output.ToString();
        _output.Clear();
        return text;
    }

    public void Tick(IEnumerable<int> ids, int times)
    {
        for (var i = 0; i < times; i++)
        {
            foreach (var id in ids.Where(id => _replicas[id] is not null))
            {
                Replica(id).Tick();
                Pump(id);
            }
        }
    }

    public void Propose(int id, string command)
    {
        Replica(id).Propose(Encoding.UTF8.GetBytes(command));
        Pump(id);
    }

    /// <summary>Several commands handed to the core before it is asked for a Ready, as a busy server's owner loop does.</summary>
    public void ProposeMany(int id, IEnumerable<string> commands)
    {
        foreach (var command in commands)
        {
            Replica(id).Propose(Encoding.UTF8.GetBytes(command));
        }

        Pump(id);
    }

    public void Read(int id, long readId)
    {
        Replica(id).RequestRead(readId);
        Pump(id);
    }

    /// <summary>Time passing with a working network: each round ticks the replicas, then delivers everything, quietly.</summary>
    public void Run(IEnumerable<int> ids, int rounds)
    {
        var list = ids.ToList();
        for (var i = 0; i < rounds; i++)
        {
            Tick(list, 1);
            var before = _output.Length;
            var mark = _output.ToString();
            Deliver(verbose: false);
            var delivered = _output.ToString()[before..].Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(line => line.StartsWith('r'));
            _output.Clear().Append(mark);
            foreach (var line in delivered)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>Delivers every message in flight, and those they cause, until none is left (bounded).</summary>
    public void Deliver(bool verbose, Func<Message, bool>? filter = null)
    {
        for (var round = 0; round < 100 && _network.Count > 0; round++)
        {
            var batch = _network.ToList();
            _network.Clear();
            foreach (var message in batch)
            {
                if (filter is not null && !filter(message))
                {
                    _network.Add(message);
                    continue;
                }

                if (_cut.Contains((message.From, message.To)) || _replicas[message.To] is null)
                {
                    continue;
                }

                if (verbose || message is not (Heartbeat or HeartbeatAck))
                {
                    _output.AppendLine(MessageText.Describe(message));
                }

                Replica(message.To).Step(message);
                Pump(message.To);
            }

            if (filter is not null && _network.All(m => !filter(m)))
            {
                return;
            }
        }
    }

    public void Partition(IReadOnlyList<int[]> sides)
    {
        _cut.Clear();
        foreach (var a in sides)
        {
            foreach (var b in sides.Where(s => s != a))
            {
                foreach (var from in a)
                {
                    foreach (var to in b)
                    {
                        _cut.Add((from, to));
                    }
                }
            }
        }
    }

    public void Heal() => _cut.Clear();

    public void Crash(int id)
    {
        _replicas[id] = null;
        _network.RemoveAll(m => m.From == id || m.To == id);
        _output.AppendLine($"r{id} crashed");
    }

    public void Start(int id)
    {
        var options = new ReplicaOptions { Id = id, Members = _members, ElectionJitterTicks = 1 };
        if (_batchCommandsMax is int batch)
        {
            options = options with { BatchCommandsMax = batch };
        }

        var starts = _starts.GetValueOrDefault(id);
        _starts[id] = starts + 1;
        _replicas[id] = new Replica(options, new SeededRandom((uint)id | ((ulong)starts << 32)), _disks[id].Clone());
        _roles[id] = ReplicaRole.Follower;
        Pump(id);
    }

    public string Status() => string.Join("\n", _members.Select(id => _replicas[id] is { } r
        ? $"r{id} {r.Role} leader={r.LeaderId?.ToString() ?? "-"} ballot={r.Ballot} promised={r.Promised} commit={r.CommitIndex} applied={r.AppliedIndex}"
        : $"r{id} down")) + "\n";

    /// <summary>The shell's part, with instant durability: persist, send, report persisted, apply.</summary>
    private void Pump(int id)
    {
        var replica = Replica(id);
        for (var guard = 0; guard < 1000; guard++)
        {
            var ready = replica.TakeReady();
            if (ready.IsEmpty && replica.SelfMessagesWaiting == 0)
            {
                break;
            }

            foreach (var op in ready.PersistOps)
            {
                _disks[id].Apply(op);
            }

            _network.AddRange(ready.Messages);
            replica.Persisted(ready.Number);
            foreach (var entry in ready.Committed)
            {
                Applied.Add((id, entry.Slot, MessageText.Batch(entry.Commands)));
                _output.AppendLine($"r{id} applies slot {entry.Slot} {MessageText.Batch(entry.Commands)}");
            }

            foreach (var read in ready.ReadStates)
            {
                _output.AppendLine($"r{id} read {read.ReadId} may be served at index {read.Index}");
            }

            foreach (var read in ready.DroppedReads)
            {
                _output.AppendLine($"r{id} read {read} dropped (no leader)");
            }
        }

        if (replica.Role != _roles[id])
        {
            _roles[id] = replica.Role;
            _output.AppendLine($"r{id} becomes {replica.Role} ballot={replica.Ballot}");
        }
    }
}
