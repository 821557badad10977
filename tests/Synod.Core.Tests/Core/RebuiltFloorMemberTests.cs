using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Xunit.Abstractions;

namespace Synod.Tests.Core;

/// <summary>
/// Issue 13, finding 2, as a golden schedule on five real cores: the incarnation rule (I14) must hold when the member
/// shared by a candidate's quorum and a rebuilt replica's floor quorum itself loses its disk later. Replica 2 answered
/// replica 1's rebuild, then lost its own disk; in its new life it knew nothing of 1's new life, so candidate 5 counted
/// 1's promise from before the loss and chose a second value for slot 2. I16 (docs/protocol.md): a rebuilding replica
/// adopts the lives its floor quorum knows.
/// </summary>
public sealed class RebuiltFloorMemberTests(ITestOutputHelper output)
{
    private static readonly int[] Five = [1, 2, 3, 4, 5];

    [Fact]
    public void I16_a_rebuilt_floor_member_still_exposes_the_promise_of_a_lost_life()
    {
        var h = Run(ProtocolBugs.None);

        Assert.Null(h.Broken());
        Assert.NotEqual(ReplicaRole.Leader, h.R[5].Role);
    }

    [Fact]
    public void With_the_bug_rebuild_forgets_lives_the_schedule_applies_two_values_in_slot_2()
    {
        var h = Run(ProtocolBugs.RebuildForgetsLives);

        // Two values in slot 2, or the runtime invariant stopping a replica that holds slot 2 chosen and is asked to accept another.
        var broken = h.Broken();
        output.WriteLine(broken ?? "no difference");
        Assert.NotNull(broken);
        Assert.Contains("slot 2", broken, StringComparison.Ordinal);
    }

    private CoreHarness Run(ProtocolBugs bugs)
    {
        var h = new CoreHarness(Five, bugs);
        h.StartAll();

        // 4 leads at (1,4) while 5 is away; slot 1 is chosen everywhere.
        for (var t = 0; t < 80 && h.R[4].Role != ReplicaRole.Leader; t++)
        {
            foreach (var id in new[] { 1, 2, 3, 4 }) h.Tick(id);
            h.Drop(m => m.From == 5 || m.To == 5);
            h.Deliver(_ => true);
        }

        Assert.Equal(ReplicaRole.Leader, h.R[4].Role);
        var b0 = h.R[4].Ballot;
        h.Propose(4, "first");
        for (var t = 0; t < 10; t++) { foreach (var id in Five) h.Tick(id); h.Deliver(_ => true); }
        Assert.All(Five, id => Assert.Equal(1, h.R[id].CommitIndex));

        // 5, cut off, stands twice (its first Prepares are lost), reaching a ballot c in round 3.
        h.Drop(m => m.To == 5);
        h.Stand(5, b0);
        var first = h.R[5].Ballot;
        for (var t = 0; t < 60 && h.R[5].Ballot == first; t++) { h.Drop(m => m.From == 5); h.Tick(5); }
        var c = h.R[5].Ballot;
        Assert.Equal(3, c.Round);
        h.Drop(m => m.From == 5 && !(m is Prepare && m.To is 1 or 2));
        static bool Held(Message m) => m is Prepare && m.From == 5 && m.To == 2;

        // 1 stops hearing the leader and promises c; the Prepare to 2 is held.
        h.Tick(1, 15);
        h.Drop(m => m.From == 1 && m.To != 5);
        h.Deliver(m => (m is Prepare && m.From == 5 && m.To == 1) || (m is Promise && m.From == 1 && m.To == 5));
        Assert.Equal(c, h.R[1].Promised);
        output.WriteLine($"5 candidate at {c}; 1 promised it; the Prepare to 2 is held");

        // 1 loses its disk: 2, 3, 4 answer its life and floor questions; 4 runs phase 1 again above the floor; 1 votes again.
        Rebuild(h, 1, Held);
        var b1 = h.R[4].Ballot;
        Assert.True(b1 > b0 && b1 < c, $"4 at {b1}, c = {c}");

        // 2 loses its disk: 1, 3, 4 answer; 4 runs phase 1 again; 2 votes again.
        Rebuild(h, 2, Held);
        var b2 = h.R[4].Ballot;
        Assert.True(b2 > b1 && b2 < c, $"4 at {b2}, c = {c}");
        output.WriteLine($"1 and 2 rebuilt in turn; 4 leads at {b2} < {c}");

        // 4 chooses from-B in slot 2 with 1, 3, 4.
        h.Drop(m => m.From == 4 && m.To == 2 && !Held(m));
        h.Propose(4, "from-B");
        h.Deliver(m => m.From != 5 && m.To != 5 && !(m.From == 4 && m.To == 2) && m is not PreVote);
        Assert.Equal("from-B", h.Applied[4][2]);

        // 2 stops hearing 4; the held Prepare reaches it and it promises c. 5 holds 5, 1 (before the loss) and 2.
        h.Tick(2, 15);
        h.Drop(m => !Held(m) && (m.From == 2 || (m.To == 2 && m.From == 4)));
        h.Deliver(m => Held(m) || (m is Promise && m.From == 2 && m.To == 5));
        output.WriteLine($"5 is {h.R[5].Role} after 2's promise");
        h.Propose(5, "from-c");
        h.Deliver(m => (m.From == 5 && m is Accept && m.To is 1 or 2) || (m.To == 5 && m is Accepted));
        output.WriteLine($"slot 2 at 5: [{h.Applied[5].GetValueOrDefault(2) ?? "-"}]");
        return h;
    }

    /// <summary>The replica loses its disk and rebuilds with the others but 5 (and the held message left alone), until it votes.</summary>
    private static void Rebuild(CoreHarness h, int id, Func<Message, bool> held)
    {
        h.Drop(m => !held(m) && (m.From == id || m.To == id));
        var empty = new DurableState();
        empty.Apply(new RebuildOp());
        h.Start(id, empty);
        bool NotFromOrTo5(Message m) => m.From != 5 && m.To != 5;
        var before = h.R[4].Ballot;
        for (var t = 0; t < 60 && h.R[id].Rebuilding; t++)
        {
            foreach (var r in new[] { 1, 2, 3, 4 }) h.Tick(r);
            h.Drop(m => !held(m) && !NotFromOrTo5(m));
            h.Deliver(m => !held(m) && NotFromOrTo5(m));
        }

        Assert.False(h.R[id].Rebuilding, $"replica {id} still rebuilding");
        Assert.Equal(ReplicaRole.Leader, h.R[4].Role);
        Assert.True(h.R[4].Ballot > before, $"4 reballoted from {before}");
    }
}
