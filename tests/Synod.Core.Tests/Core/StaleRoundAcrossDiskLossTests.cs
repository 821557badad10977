using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Xunit.Abstractions;

namespace Synod.Tests.Core;

/// <summary>
/// A cold review of I18 found this: round numbers restarted at 1 after the asker's own disk loss (the round is lost
/// with the disk), and step 0 is always asked in life 0, so a confirming answer left in flight from the asker's
/// previous rebuild passed for an answer to the current round. Replica 1 rebuilds into life 1, promises candidate 5's
/// c, loses its disk again; its second rebuild counted the old second-round answers (life 1 unknown when they were
/// written), chose life 1 again, and 5 then counted 1's pre-loss promise of life 1 with 2's: slot 2 got two values.
/// Now a rebuild on an empty disk starts its rounds from a random base, so the held answers match no round.
/// </summary>
public sealed class StaleRoundAcrossDiskLossTests(ITestOutputHelper output)
{
    private static readonly int[] Five = [1, 2, 3, 4, 5];

    private static DurableState RebuildDisk()
    {
        var d = new DurableState();
        d.Apply(new RebuildOp());
        return d;
    }

    [Fact]
    public void I18_a_confirming_answer_from_the_askers_previous_rebuild_does_not_count()
    {
        var h = new CoreHarness(Five);
        h.StartAll();

        // 4 leads while 5 is away; slot 1 chosen everywhere.
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

        // Rebuild #1 of 1 (5 away). Step 0, round 1: 2, 3, 4 answer; round 2 begins at once.
        h.Drop(m => m.From == 1 || m.To == 1);
        h.Start(1, RebuildDisk());
        bool NotFromOrTo5(Message m) => m.From != 5 && m.To != 5;
        h.Tick(1);
        h.Drop(m => !NotFromOrTo5(m));
        var first = h.Net.OfType<VoterQuery>().Where(q => q.From == 1).Min(q => q.Round);
        h.Deliver(m => (m is VoterQuery { From: 1 } q && q.Round == first) || (m is VoterQueryReply { To: 1 } r && r.Round == first));
        Assert.Contains(h.Net, m => m is VoterQuery { From: 1, Incarnation: 0 } q && q.Round == first + 1);

        // The second-round answers of 2, 3, 4 (life 1 of replica 1 unknown to them: known 0) are delayed in the network.
        h.Deliver(m => m is VoterQuery { From: 1 } q && q.Round == first + 1 && m.To != 5);
        var stale = h.Net.OfType<VoterQueryReply>().Where(r => r.To == 1 && r.Round == first + 1).ToList();
        Assert.Equal(3, stale.Count);
        h.Net.RemoveAll(m => stale.Contains(m));
        output.WriteLine("held: " + string.Join("; ", stale.Select(r => $"from {r.From} round {r.Round} known {r.KnownIncarnation} life {r.Life}")));

        // 1 retransmits round 2, the copies are answered, and the rebuild completes in life 1 (4 reballots).
        for (var t = 0; t < 60 && h.R[1].Rebuilding; t++)
        {
            foreach (var r in new[] { 1, 2, 3, 4 }) h.Tick(r);
            h.Drop(m => !NotFromOrTo5(m));
            h.Deliver(NotFromOrTo5);
        }

        Assert.False(h.R[1].Rebuilding);
        Assert.Equal(1, h.Disk[1].Incarnations[1]);
        Assert.All(new[] { 2, 3, 4 }, id => Assert.Equal(1, h.Disk[id].Incarnations.GetValueOrDefault(1)));
        var b1 = h.R[4].Ballot;
        output.WriteLine($"1 votes in life 1; 2, 3, 4 know it; 4 leads at {b1}");

        // 5, cut off, stands until its round is 6 (its Prepares lost); its Prepare to 2 is then held.
        h.Drop(m => m.To == 5);
        h.Stand(5, b1);
        for (var t = 0; t < 400 && h.R[5].Ballot.Round < 6; t++) { h.Drop(m => m.From == 5); h.Tick(5); }
        var c = h.R[5].Ballot;
        h.Drop(m => m.From == 5 && !(m is Prepare && m.To is 1 or 2));
        static bool Held(Message m) => m is Prepare { From: 5, To: 2 };

        // 1 (life 1) stops hearing the leader and promises c.
        h.Tick(1, 15);
        h.Drop(m => m.From == 1 && m.To != 5);
        h.Deliver(m => m is Prepare { From: 5, To: 1 } || m is Promise { From: 1, To: 5 });
        Assert.Equal(c, h.R[1].Promised);
        output.WriteLine($"5 candidate at {c}; 1 promised it in life 1");

        // 1 loses its disk again: rebuild #2, rounds from 1 again. Round 1: 2, 3, 4 answer (they know life 1);
        // round 2 begins at once; its queries are lost, and the delayed round-2 answers of rebuild #1 arrive.
        h.Drop(m => !Held(m) && (m.From == 1 || m.To == 1));
        h.Start(1, RebuildDisk(), seed: 1001);
        h.Tick(1);
        h.Drop(m => !Held(m) && !NotFromOrTo5(m));
        var again = h.Net.OfType<VoterQuery>().Where(q => q.From == 1).Min(q => q.Round);
        output.WriteLine($"rebuild #1 asked from round {first}, rebuild #2 from round {again}");
        h.Deliver(m => (m is VoterQuery { From: 1 } q && q.Round == again) || (m is VoterQueryReply { To: 1 } r && r.Round == again));
        h.Drop(m => m is VoterQuery { From: 1 } q && q.Round == again + 1);
        h.Net.AddRange(stale);
        h.Deliver(m => stale.Contains(m));
        output.WriteLine($"rebuild #2 took life {h.Disk[1].Incarnations.GetValueOrDefault(1)} (rebuild #1 took 1)");

        // The rest of rebuild #2 with 2, 3, 4 (5's Prepare to 2 still held): floor, reballot, vote.
        for (var t = 0; t < 60 && h.R[1].Rebuilding; t++)
        {
            foreach (var r in new[] { 1, 2, 3, 4 }) h.Tick(r);
            h.Drop(m => !Held(m) && !NotFromOrTo5(m));
            h.Deliver(m => !Held(m) && NotFromOrTo5(m));
        }

        Assert.False(h.R[1].Rebuilding);
        var b2 = h.R[4].Ballot;
        Assert.True(b2 < c, $"B = {b2}, c = {c}");
        output.WriteLine($"1 votes again; 4 leads at {b2} < {c}");

        // 4 chooses from-B in slot 2 with 1, 3, 4.
        h.Drop(m => m.From == 4 && m.To == 2 && !Held(m));
        h.Propose(4, "from-B");
        h.Deliver(m => m.From != 5 && m.To != 5 && !(m.From == 4 && m.To == 2) && m is not PreVote);
        Assert.Equal("from-B", h.Applied[4][2]);

        // 2 stops hearing 4, gets the held Prepare and promises c: 5 holds 5, 1 (life 1, before the loss) and 2.
        h.Tick(2, 15);
        h.Drop(m => !Held(m) && (m.From == 2 || (m.To == 2 && m.From == 4)));
        h.Deliver(m => Held(m) || m is Promise { From: 2, To: 5 });
        output.WriteLine($"5 is {h.R[5].Role}");
        h.Propose(5, "from-c");
        h.Deliver(m => (m is Accept { From: 5 } && m.To is 1 or 2) || m is Accepted { To: 5 });
        var broken = h.Broken();
        output.WriteLine(broken ?? "no difference");
        Assert.Null(broken);
        Assert.NotEqual(1, h.Disk[1].Incarnations.GetValueOrDefault(1));
    }
}
