using Synod.Core;
using Synod.Core.Messages;
using Xunit.Abstractions;

namespace Synod.Tests.Core;

/// <summary>
/// Issue 13, finding 1, as a golden schedule on five real cores: a candidate that installs a snapshot during its
/// election must not lead on that election's phase 1 (invariant I15, docs/protocol.md). Before the fix it walked its
/// stale phase 1 from the old commit index, proposed a no-op in a slot its snapshot had covered, and an acceptor
/// applied the no-op where the others had applied a chosen value (I8).
/// </summary>
public sealed class CandidateSnapshotTests(ITestOutputHelper output)
{
    private static readonly int[] Five = [1, 2, 3, 4, 5];

    [Fact]
    public void I15_a_candidate_that_installs_a_snapshot_stands_down_and_no_slot_gets_two_values()
    {
        var h = Run(ProtocolBugs.None);

        Assert.Null(h.Broken());
        Assert.NotEqual(ReplicaRole.Leader, h.R[1].Role);

        // Finding 3's other half: a failed candidacy says why.
        Assert.Equal(1, h.R[1].FailedCandidacies);
        Assert.Equal("candidacy at 2.1 from slot 2 failed: it installed a snapshot at slot 2, past the first slot its phase 1 asked for; " +
            "promises from 1,2 (3 needed); no answer from 3,4,5 (rebuilding, deferring to a leader, down or cut off)", h.R[1].LastCandidacyFailure);
    }

    [Fact]
    public void With_the_bug_candidate_installs_snapshot_the_schedule_applies_two_values_in_slot_2()
    {
        var h = Run(ProtocolBugs.CandidateInstallsSnapshot);

        var difference = h.FirstDifference();
        output.WriteLine(difference ?? "no difference");
        Assert.NotNull(difference);
        Assert.StartsWith("slot 2:", difference, StringComparison.Ordinal);
    }

    private CoreHarness Run(ProtocolBugs bugs)
    {
        var h = new CoreHarness(Five, bugs);
        h.StartAll();

        // 5 leads at (1,5); slot 1 chosen everywhere.
        for (var t = 0; t < 80 && h.R[5].Role != ReplicaRole.Leader; t++)
        {
            foreach (var id in Five) h.Tick(id);
            h.Deliver(_ => true);
        }

        Assert.Equal(ReplicaRole.Leader, h.R[5].Role);
        var b0 = h.R[5].Ballot;
        h.Propose(5, "first");
        for (var t = 0; t < 10; t++) { foreach (var id in Five) h.Tick(id); h.Deliver(_ => true); }
        Assert.All(Five, id => Assert.Equal(1, h.R[id].CommitIndex));

        // 1, cut off from 5 (and from 4), stands. 2 has not heard the leader for a while and promises; the Prepare to 3 is held.
        static bool Held(Message m) => m is Prepare && m.From == 1 && m.To == 3;
        bool Cut(Message m) => (m.From == 1 && m.To is 4 or 5) || (m.To == 1 && m.From is 4 or 5);
        h.Drop(m => m.To == 1 || m.From == 1);
        h.Stand(1, b0);
        Assert.Equal(ReplicaRole.Candidate, h.R[1].Role);
        var c1 = h.R[1].Ballot;
        h.Drop(Cut);
        h.Tick(2, 15);
        h.Drop(m => m.From == 2 || (m.To == 2 && m.From != 1));
        h.Deliver(m => m is Prepare && m.From == 1 && m.To == 2);
        h.Deliver(m => m is Promise && m.From == 2 && m.To == 1);
        Assert.Equal(c1, h.R[2].Promised);
        output.WriteLine($"1 candidate at {c1}; 2 promised; the Prepare to 3 is held");

        // 5's heartbeat is rejected by 2; 5 steps down and stands at a higher ballot; 2 and 4 promise (3 never hears of it).
        bool NotTo3Or1(Message m) => m.To != 3 && m.To != 1 && m.From != 1;
        h.Tick(5, 2);
        h.Deliver(m => NotTo3Or1(m) && m is Heartbeat or Reject or HeartbeatAck);
        h.Drop(m => m.From == 5 && m.To is 1 or 3);
        for (var t = 0; t < 80 && h.R[5].Role == ReplicaRole.Leader; t++) { h.Tick(5); h.Deliver(m => NotTo3Or1(m) && m is Heartbeat or Reject or HeartbeatAck); h.Drop(m => m.From == 5 && m.To is 1 or 3); }
        Assert.NotEqual(ReplicaRole.Leader, h.R[5].Role);
        h.Drop(m => m.From == 5 || m.To == 5);
        h.Stand(5, b0);
        var c5 = h.R[5].Ballot;
        Assert.True(c5 > c1, $"5 stands at {c5}, above 1's {c1}");
        h.Drop(m => m.From == 5 && m.To is 1 or 3);
        h.Deliver(m => (m.From == 5 && m.To is 2 or 4 && m is Prepare) || (m.To == 5 && m is Promise));
        Assert.Equal(ReplicaRole.Leader, h.R[5].Role);

        // 5 chooses x in slot 2 with 2 and 4; they learn it chosen and apply it; 2 compacts through slot 2.
        h.Propose(5, "x");
        for (var t = 0; t < 10; t++)
        {
            h.Tick(5); h.Tick(2); h.Tick(4);
            h.Drop(m => !Held(m) && (m.To is 1 or 3 || m.From is 1 or 3 || (m.From == 2 && m.To != 5) || (m.From == 4 && m.To != 5)));
            h.Deliver(m => (m.From == 5 && m.To is 2 or 4) || (m.To == 5 && m.From is 2 or 4));
        }

        Assert.Equal("x", h.Applied[2][2]);
        Assert.Equal("x", h.Applied[4][2]);
        h.R[2].Compact(2, [1, 2, 3]);
        h.Pump(2);
        output.WriteLine($"5 leads at {c5} and chose x in slot 2 with 2 and 4; 2 compacted through slot 2");

        // 2's heartbeat reaches 1, still a candidate, which catches up by installing 2's snapshot (commit 2).
        h.Drop(m => m.From == 2 && m.To == 1);
        for (var t = 0; t < 5 && h.R[1].CommitIndex < 2; t++)
        {
            h.Tick(2);
            h.Deliver(m => (m.From == 2 && m.To == 1 && m is Heartbeat or InstallSnapshot or CatchUpReply) || (m.From == 1 && m.To == 2 && m is CatchUpRequest));
        }

        Assert.Equal(2, h.R[1].CommitIndex);
        output.WriteLine($"1 installed the snapshot at slot 2 as a {h.R[1].Role}");

        // 3 stops hearing a leader; the held Prepare reaches it (it promised only 5's first ballot); with 3's promise 1
        // has 1, 2, 3.
        h.Drop(m => !Held(m));
        h.Tick(3, 15);
        h.Drop(m => !Held(m));
        Assert.Contains(h.Net, Held);
        h.Deliver(m => (m.From == 1 && m.To == 3) || (m.From == 3 && m.To == 1 && m is Promise or Accepted));
        output.WriteLine($"1 is {h.R[1].Role}; slot 2 applied at 3: [{h.Applied[3].GetValueOrDefault(2) ?? "-"}]");
        return h;
    }
}
