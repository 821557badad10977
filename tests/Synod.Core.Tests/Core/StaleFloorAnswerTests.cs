using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Xunit.Abstractions;

namespace Synod.Tests.Core;

/// <summary>
/// I18 (docs/protocol.md, the confirmation round): a floor answer that outlives its sender's disk loss, found by a
/// review of issue 13's work. Seven replicas: 1 loses its disk after promising candidate 7's c; 2 answers 1's floor
/// question (recording 1's new life) and then loses its own disk before anyone else recorded that life, so its rebuild
/// cannot learn it. Without the confirmation round 1 counts 2's late answer, and 7 then counts 1's old promise with
/// 2's and 3's, none of which knows 1's new life: slot 2 gets two values. With it, 2's late answer is not confirmed
/// (2 answers the next round in another life), 1 waits until 3 records its life too, and 7 discards 1's old promise.
/// </summary>
public sealed class StaleFloorAnswerTests(ITestOutputHelper output)
{
    private static readonly int[] Seven = [1, 2, 3, 4, 5, 6, 7];

    private static DurableState RebuildDisk()
    {
        var d = new DurableState();
        d.Apply(new RebuildOp());
        return d;
    }

    [Fact]
    public void I18_a_floor_answer_from_a_voter_that_lost_its_disk_before_the_floor_quorum_completed_never_lets_two_values_be_chosen()
    {
        var h = Run(ProtocolBugs.None);
        Assert.Null(h.Broken());
    }

    [Fact]
    public void I18_without_the_confirmation_round_the_late_answer_completes_the_floor_and_slot_2_gets_two_values()
    {
        var h = Run(ProtocolBugs.UnconfirmedAnswers);

        // Replica 1 holds slot 2 chosen and is asked to accept c's other value there: either two values are applied, or
        // the runtime invariant stops 1 first (which it does: without 1, c's Accepts reach no quorum).
        var broken = h.Broken();
        Assert.NotNull(broken);
        Assert.Contains("slot 2", broken);
    }

    private CoreHarness Run(ProtocolBugs bugs)
    {
        var h = new CoreHarness(Seven, bugs);
        h.StartAll();

        // 6 leads at b0 while 7 is away; slot 1 chosen everywhere.
        for (var t = 0; t < 120 && h.R[6].Role != ReplicaRole.Leader; t++)
        {
            foreach (var id in Seven.Where(i => i != 7)) h.Tick(id);
            h.Drop(m => m.From == 7 || m.To == 7);
            h.Deliver(_ => true);
        }

        Assert.Equal(ReplicaRole.Leader, h.R[6].Role);
        var b0 = h.R[6].Ballot;
        h.Propose(6, "first");
        for (var t = 0; t < 10; t++) { foreach (var id in Seven) h.Tick(id); h.Deliver(_ => true); }
        Assert.All(Seven, id => Assert.Equal(1, h.R[id].CommitIndex));

        // 7, cut off, stands until its round is 5 (its Prepares lost); then its Prepares to 1, 2, 3 are held.
        h.Drop(m => m.To == 7);
        h.Stand(7, b0);
        for (var t = 0; t < 400 && h.R[7].Ballot.Round < 5; t++) { h.Drop(m => m.From == 7); h.Tick(7); }
        var c = h.R[7].Ballot;
        h.Drop(m => m.From == 7 && !(m is Prepare && m.To is 1 or 2 or 3));
        static bool HeldPrepare(Message m) => m is Prepare { From: 7 } p && p.To is 2 or 3;

        // 1 stops hearing the leader and promises c.
        h.Tick(1, 15);
        h.Drop(m => m.From == 1 && m.To != 7);
        h.Deliver(m => m is Prepare { From: 7, To: 1 } || m is Promise { From: 1, To: 7 });
        Assert.Equal(c, h.R[1].Promised);
        output.WriteLine($"7 candidate at {c}; 1 promised it");

        // 1 loses its disk; 2..6 answer which life they know (none): it takes life 1.
        h.Drop(m => !HeldPrepare(m) && (m.From == 1 || m.To == 1));
        h.Start(1, RebuildDisk());
        for (var t = 0; t < 10 && h.Disk[1].Incarnations.GetValueOrDefault(1) == 0; t++)
        {
            h.Tick(1);
            h.Drop(m => m is VoterQuery { From: 1, To: 7 });
            h.Deliver(m => m is VoterQuery { From: 1 } || m is VoterQueryReply { To: 1 });
        }

        Assert.Equal(1, h.Disk[1].Incarnations[1]);

        // Its floor question in life 1 reaches 2 only; 2 records life 1 of 1 and answers; the answer is slow.
        for (var t = 0; t < 10 && !h.Net.Any(m => m is VoterQuery { From: 1, Incarnation: 1 }); t++) h.Tick(1);
        h.Deliver(m => m is VoterQuery { From: 1, To: 2, Incarnation: 1 });
        var stale = h.Net.OfType<VoterQueryReply>().Single(r => r.From == 2 && r.To == 1);
        Assert.Equal(1, h.Disk[2].Incarnations[1]);
        bool Held(Message m) => HeldPrepare(m) || ReferenceEquals(m, stale);
        h.Drop(m => !Held(m) && m.From == 1);

        // 2 loses its disk and rebuilds with 3, 4, 5, 6 (1 is slow, 7 away); none of them knows 1's new life.
        h.Drop(m => !Held(m) && (m.From == 2 || m.To == 2));
        h.Start(2, RebuildDisk());
        bool Among2To6(Message m) => !Held(m) && m.From is >= 2 and <= 6 && m.To is >= 2 and <= 6;
        for (var t = 0; t < 300 && h.R[2].Rebuilding; t++)
        {
            foreach (var id in new[] { 2, 3, 4, 5, 6 }) h.Tick(id);
            h.Drop(m => !Held(m) && !Among2To6(m));
            h.Deliver(Among2To6);
        }

        Assert.False(h.R[2].Rebuilding);
        Assert.Equal(0, h.Disk[2].Incarnations.GetValueOrDefault(1));
        output.WriteLine($"2 rebuilt; knows life {h.Disk[2].Incarnations.GetValueOrDefault(1)} of 1; 6 leads at {h.R[6].Ballot}");

        // 2's late answer reaches 1; 1 asks again, 4, 5, 6 answer (the queries to 2 and 3 are lost); 1 rebuilds.
        h.Deliver(m => ReferenceEquals(m, stale));
        bool Among1To6(Message m) => !Held(m) && m.From <= 6 && m.To <= 6 && !(m is VoterQuery { From: 1 } q && q.To is 2 or 3);
        for (var t = 0; t < 300 && h.R[1].Rebuilding; t++)
        {
            foreach (var id in new[] { 1, 2, 3, 4, 5, 6 }) h.Tick(id);
            h.Drop(m => !Held(m) && !Among1To6(m));
            h.Deliver(Among1To6);
        }

        if (bugs == ProtocolBugs.None)
        {
            // 2's late answer is not confirmed (2 answers the next round in its new life), and 4, 5, 6 are one short.
            Assert.True(h.R[1].Rebuilding, "1 finished its rebuild on a floor quorum that counted 2's answer from before its disk loss");
            output.WriteLine("1 still rebuilding: 2's late answer was not confirmed; now its questions reach 3 too");
            bool AllButSeven(Message m) => !Held(m) && m.From <= 6 && m.To <= 6;
            for (var t = 0; t < 300 && h.R[1].Rebuilding; t++)
            {
                foreach (var id in new[] { 1, 2, 3, 4, 5, 6 }) h.Tick(id);
                h.Drop(m => !Held(m) && !AllButSeven(m));
                h.Deliver(AllButSeven);
            }
        }

        Assert.False(h.R[1].Rebuilding);
        var knowers = Seven.Where(i => i != 1 && h.Disk[i].Incarnations.GetValueOrDefault(1) >= 1).ToList();
        output.WriteLine($"1 votes again in life 1; voters that know it: {string.Join(",", knowers)}; 6 leads at {h.R[6].Ballot}");
        Assert.Equal(ReplicaRole.Leader, h.R[6].Role);
        var b = h.R[6].Ballot;
        Assert.True(b < c, $"B = {b}, c = {c}");

        // 6 chooses from-B in slot 2 with 1, 4, 5, 6 (its messages to 2 and 3 are lost).
        h.Drop(m => m.From == 6 && m.To is 2 or 3);
        h.Propose(6, "from-B");
        h.Deliver(m => !Held(m) && m.From is 1 or 4 or 5 or 6 && m.To is 1 or 4 or 5 or 6 && m is not PreVote);
        Assert.Equal("from-B", h.Applied[6][2]);

        // 2 and 3 stop hearing 6; the held Prepares reach them; 7 counts 7, 1 (before its loss), 2 and 3 unless one
        // of them exposes 1's old life.
        h.Tick(2, 15);
        h.Tick(3, 15);
        h.Drop(m => !Held(m) && (m.From is 2 or 3 || m.To is 2 or 3));
        h.Deliver(m => HeldPrepare(m) || m is Promise { To: 7 });
        output.WriteLine($"7 is {h.R[7].Role}");
        if (bugs == ProtocolBugs.None)
        {
            Assert.NotEqual(ReplicaRole.Leader, h.R[7].Role);
        }

        h.Propose(7, "from-c");
        h.Deliver(m => (m is Accept { From: 7 } && m.To is 1 or 2 or 3) || (m is Accepted { To: 7 }));
        output.WriteLine(h.Broken() ?? "no difference");
        return h;
    }
}
