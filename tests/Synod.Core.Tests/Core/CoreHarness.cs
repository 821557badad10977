using System.Text;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Tests.Core;

/// <summary>
/// Real cores driven by hand, for the schedules that random seeds miss: each replica persists what its Ready asks
/// (to a <see cref="DurableState"/> that survives a restart), and every message waits in <see cref="Net"/> until the
/// test delivers, drops or holds it.
/// </summary>
internal sealed class CoreHarness(int[] members, ProtocolBugs bugs = ProtocolBugs.None)
{
    public Dictionary<int, Replica> R { get; } = [];

    /// <summary>Changes each replica's options before it starts (its id and members are set already).</summary>
    public Func<ReplicaOptions, ReplicaOptions> Configure { get; init; } = options => options;

    public Dictionary<int, DurableState> Disk { get; } = [];

    public List<Message> Net { get; } = [];

    /// <summary>What each replica applied, slot by slot, as its commands joined with ","; "" for a no-op.</summary>
    public Dictionary<int, Dictionary<long, string>> Applied { get; } = [];

    /// <summary>Reads each replica was told it may serve: its id and the index it is served at.</summary>
    public List<(int Replica, long ReadId, long Index)> Reads { get; } = [];

    /// <summary>Starts replica <paramref name="id"/> on <paramref name="disk"/>; each process of one replica draws from its own <paramref name="seed"/>.</summary>
    public void Start(int id, DurableState disk, ulong? seed = null)
    {
        Disk[id] = disk;
        Applied[id] = [];
        R[id] = new Replica(Configure(new ReplicaOptions { Id = id, Members = members, ElectionJitterTicks = 1, Bugs = bugs }), new SeededRandom(seed ?? (ulong)id), disk.Clone());
        Pump(id);
    }

    public void StartAll()
    {
        foreach (var id in members)
        {
            Start(id, new DurableState());
        }
    }

    public void Pump(int id)
    {
        var replica = R[id];
        for (var g = 0; g < 1000; g++)
        {
            var ready = replica.TakeReady();
            if (ready.IsEmpty && replica.SelfMessagesWaiting == 0)
            {
                break;
            }

            foreach (var op in ready.PersistOps)
            {
                Disk[id].Apply(op);
            }

            Net.AddRange(ready.Messages);
            replica.Persisted(ready.Number);
            if (ready.Snapshot is { } snapshot)
            {
                Applied[id][snapshot.Slot] = $"snapshot@{snapshot.Slot}";
            }

            foreach (var entry in ready.Committed)
            {
                Applied[id][entry.Slot] = string.Join(",", entry.Commands.Select(c => Encoding.UTF8.GetString(c)));
            }

            foreach (var read in ready.ReadStates)
            {
                Reads.Add((id, read.ReadId, read.Index));
            }
        }
    }

    public void Tick(int id, int n = 1)
    {
        for (var i = 0; i < n; i++)
        {
            R[id].Tick();
            Pump(id);
        }
    }

    public void Propose(int id, string command)
    {
        R[id].Propose(Encoding.UTF8.GetBytes(command));
        Pump(id);
    }

    /// <summary>Delivers matching messages (and what they cause that also matches) until none match.</summary>
    public void Deliver(Func<Message, bool> match)
    {
        for (var round = 0; round < 200 && DeliverOnce(match); round++)
        {
        }
    }

    /// <summary>One round: delivers the matching messages in the network now, not those they cause; false if none matched.</summary>
    public bool DeliverOnce(Func<Message, bool> match)
    {
        var batch = Net.Where(match).ToList();
        foreach (var message in batch)
        {
            Net.Remove(message);
            if (Stopped.ContainsKey(message.To))
            {
                continue;
            }

            try
            {
                R[message.To].Step(message);
                Pump(message.To);
            }
            catch (InvariantViolationException e)
            {
                // As the server does: the replica stops, and hears nothing more.
                Stopped[message.To] = e.Message;
            }
        }

        return batch.Count > 0;
    }

    public void Drop(Func<Message, bool> match) => Net.RemoveAll(m => match(m));

    /// <summary>
    /// Makes <paramref name="id"/> stand: ticks it until it is a candidate, answering its pre-votes with grants (pre-vote
    /// is liveness only, so forging grants cannot break safety) and dropping everything else it sends but Prepares.
    /// </summary>
    public void Stand(int id, Ballot leaderSeen)
    {
        for (var t = 0; t < 80 && R[id].Role != ReplicaRole.Candidate; t++)
        {
            Tick(id);
            foreach (var preVote in Net.OfType<PreVote>().Where(p => p.From == id).ToList())
            {
                Net.Remove(preVote);
                R[id].Step(new PreVoteReply(preVote.To, id, preVote.Ballot, true, leaderSeen));
                Pump(id);
            }

            Drop(m => m.From == id && m is not Prepare);
        }
    }

    /// <summary>Replicas a runtime invariant stopped (docs/protocol.md, "Runtime invariants"), with the rule broken.</summary>
    public Dictionary<int, string> Stopped { get; } = [];

    /// <summary>The first difference in what was applied, or else the first replica a runtime invariant stopped; null if neither.</summary>
    public string? Broken() =>
        FirstDifference() ?? Stopped.Select(s => $"replica {s.Key} stopped: {s.Value}").FirstOrDefault();

    /// <summary>Every pair of replicas that applied a slot applied the same batch there (invariant I8); else the first difference.</summary>
    public string? FirstDifference()
    {
        foreach (var slot in Applied.Values.SelectMany(a => a.Keys).Distinct().Order())
        {
            var values = Applied.Where(a => a.Value.TryGetValue(slot, out var v) && !v.StartsWith("snapshot@", StringComparison.Ordinal))
                .Select(a => (Id: a.Key, Value: a.Value[slot])).ToList();
            if (values.Select(v => v.Value).Distinct().Count() > 1)
            {
                return $"slot {slot}: " + string.Join("; ", values.Select(v => $"replica {v.Id} applied [{v.Value}]"));
            }
        }

        return null;
    }
}
