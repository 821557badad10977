using System.Text;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Xunit.Abstractions;

namespace Synod.Tests.Core;

/// <summary>
/// I14, the incarnation rule: a candidate still gathering promises must not count one that a replica made before it
/// lost its disk, for a ballot above the floor the rebuilt replica learned. Real cores, messages held and delivered by hand.
/// </summary>
public sealed class RebuildHoleTests(ITestOutputHelper output)
{
    private static readonly int[] Five = [1, 2, 3, 4, 5];
    private readonly Dictionary<int, Replica> _r = [];
    private readonly Dictionary<int, DurableState> _disk = [];
    private readonly List<Message> _net = [];
    private readonly Dictionary<int, Dictionary<long, string>> _applied = [];

    private void Start(int id, DurableState disk)
    {
        _disk[id] = disk;
        _applied[id] = [];
        _r[id] = new Replica(new ReplicaOptions { Id = id, Members = Five, ElectionJitterTicks = 1 }, new SeededRandom((ulong)id), disk.Clone());
        Pump(id);
    }

    private void Pump(int id)
    {
        var rep = _r[id];
        for (var g = 0; g < 1000; g++)
        {
            var ready = rep.TakeReady();
            if (ready.IsEmpty && rep.SelfMessagesWaiting == 0) break;
            foreach (var op in ready.PersistOps) _disk[id].Apply(op);
            _net.AddRange(ready.Messages);
            rep.Persisted(ready.Number);
            foreach (var e in ready.Committed)
                _applied[id][e.Slot] = string.Join(",", e.Commands.Select(c => Encoding.UTF8.GetString(c)));
        }
    }

    private void Tick(int id, int n = 1) { for (var i = 0; i < n; i++) { _r[id].Tick(); Pump(id); } }

    /// <summary>Delivers matching messages (and what they cause that also matches) until none match.</summary>
    private void Deliver(Func<Message, bool> ok)
    {
        for (var round = 0; round < 200; round++)
        {
            var batch = _net.Where(ok).ToList();
            if (batch.Count == 0) return;
            foreach (var m in batch)
            {
                _net.Remove(m);
                _r[m.To].Step(m);
                Pump(m.To);
            }
        }
    }

    private void Drop(Func<Message, bool> match) => _net.RemoveAll(m => match(m));

    [Fact]
    public void I14_a_promise_made_before_the_loss_is_not_counted_once_a_quorum_member_knows_of_the_new_life()
    {
        foreach (var id in Five) Start(id, new DurableState());

        // 4 becomes leader at (1,4) while 5 is away; then 5 joins and follows.
        for (var t = 0; t < 60 && _r[4].Role != ReplicaRole.Leader; t++)
        {
            foreach (var id in new[] { 1, 2, 3, 4 }) Tick(id);
            Drop(m => m.From == 5 || m.To == 5);
            Deliver(_ => true);
        }
        Assert.Equal(ReplicaRole.Leader, _r[4].Role);
        var b0 = _r[4].Ballot;
        _r[4].Propose(Encoding.UTF8.GetBytes("first")); Pump(4);
        for (var t = 0; t < 10; t++) { foreach (var id in Five) Tick(id); Deliver(_ => true); }
        Assert.All(Five, id => Assert.Equal(1, _r[id].CommitIndex));
        output.WriteLine($"leader 4 at {b0}, slot 1 chosen everywhere");

        // 5 stops hearing 4 and stands (pre-vote grants forged: pre-vote is liveness only). Its Prepare(c) reaches
        // only 1 (which promises), 1's promise reaches 5; prepares to 2, 3, 4 are held in the network.
        for (var t = 0; t < 40 && _r[5].Role != ReplicaRole.Candidate; t++)
        {
            Tick(5);
            foreach (var pv in _net.OfType<PreVote>().Where(p => p.From == 5).ToList())
            {
                _net.Remove(pv);
                _r[5].Step(new PreVoteReply(pv.To, 5, pv.Ballot, true, b0)); Pump(5);
            }
            Drop(m => m.From == 5 && m is not Prepare);
        }
        Assert.Equal(ReplicaRole.Candidate, _r[5].Role);
        var c = _r[5].Ballot;
        // 1 hears no leader for a while (otherwise stickiness defers the prepare).
        Tick(1, 15); Drop(m => m.From == 1);
        Deliver(m => m is Prepare && m.From == 5 && m.To == 1);
        Deliver(m => m is Promise && m.From == 1 && m.To == 5);
        Assert.Equal(c, _r[1].Promised);
        output.WriteLine($"5 candidate at {c}; 1 promised it; 5 holds 2 of 3 promises");

        // 1 loses its disk and restarts rebuilding.
        _net.RemoveAll(m => m.From == 1 || m.To == 1);
        var empty = new DurableState(); empty.Apply(new RebuildOp());
        Start(1, empty);
        // Its new life, then the floor: 2, 3, 4 answer (they have not seen c); the queries to 5 are lost.
        for (var question = 0; question < 2; question++)
        {
            Tick(1, 5);
            Drop(m => m is VoterQuery && m.To == 5);
            Deliver(m => m is VoterQuery || (m is VoterQueryReply && m.To == 1));
        }

        output.WriteLine($"1 rebuilding, floor = promise {_r[1].Promised}");

        // 4's heartbeat at b0 (= floor) -> Reballot -> phase 1 at B with 2, 3, 4 (prepares from 5 still held).
        bool NotFromOrTo5(Message m) => m.From != 5 && m.To != 5;
        for (var t = 0; t < 30 && !(_r[4].Role == ReplicaRole.Leader && _r[4].Ballot > b0); t++)
        {
            Tick(4); Tick(1); Tick(2); Tick(3);
            Deliver(NotFromOrTo5);
        }
        var B = _r[4].Ballot;
        Assert.True(B > b0 && B < c, $"B={B} c={c}");
        for (var t = 0; t < 20 && _r[1].Rebuilding; t++) { Tick(4); Tick(1); Tick(2); Tick(3); Deliver(NotFromOrTo5); }
        Assert.False(_r[1].Rebuilding);
        output.WriteLine($"4 leads at {B} < c; 1 is a voter again with promise {_r[1].Promised}");

        // 4 chooses "from-B" at slot 2 with 1, 3, 4 (its messages to 2 are cut from now on).
        Drop(m => m.From == 4 && m.To == 2);
        _r[4].Propose(Encoding.UTF8.GetBytes("from-B")); Pump(4);
        Deliver(m => m.From != 5 && m.To != 5 && !(m.From == 4 && m.To == 2) && m is not PreVote);
        Assert.Equal("from-B", _applied[4][2]);
        output.WriteLine("slot 2 chosen at B by 1, 3, 4 and applied at 4: from-B");

        // 2 stops hearing 4, then gets 5's prepare: promises c. 5 now has 5, 1 (old), 2 = a quorum.
        Tick(2, 15); Drop(m => m.From == 2 || (m.To == 2 && m.From == 4));
        Deliver(m => m is Prepare && m.From == 5 && m.To == 2);
        Deliver(m => m is Promise && m.From == 2 && m.To == 5);
        // Without the rule 5 would now lead with 5, 1 (its promise from before the loss) and 2, and choose another
        // value for slot 2. 2 answered 1's query in its new life, so its promise exposes 1's as stale.
        Assert.NotEqual(ReplicaRole.Leader, _r[5].Role);
        _r[5].Propose(Encoding.UTF8.GetBytes("from-c")); Pump(5);
        Deliver(m => m.From == 5 && m is Accept && m.To is 2 or 3 || m.To == 5 && m is Accepted);
        output.WriteLine($"5 is {_r[5].Role}; slot 2 at 5: {(_applied[5].TryGetValue(2, out var v) ? v : "-")}");
        Assert.NotEqual("from-c", _applied[5].GetValueOrDefault(2));
    }
}
