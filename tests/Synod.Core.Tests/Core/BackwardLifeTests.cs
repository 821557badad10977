using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Xunit.Abstractions;

namespace Synod.Tests.Core;

/// <summary>
/// Issue 13, finding 3 (the chaos run that stopped electing a leader for good): a rebuilt replica chose a life below
/// one a voter it could not reach already knew of it. From then on every candidacy that counted that voter discarded
/// the rebuilt replica's promise as one of a lost life; with two other replicas rebuilding, the three voters left
/// needed all three promises, so no leader was ever elected again. I17 (docs/protocol.md): a replica's life never goes
/// backwards.
/// </summary>
public sealed class BackwardLifeTests(ITestOutputHelper output)
{
    private static readonly int[] Five = [1, 2, 3, 4, 5];

    /// <summary>4 answers 5's floor question, which tells 5 of the later life: 5 takes life 3 before it votes.</summary>
    [Fact]
    public void I17_a_life_chosen_without_a_voter_that_knew_a_later_one_is_raised_and_the_three_voters_elect_a_leader()
    {
        var h = new CoreHarness(Five);

        // 4 knows life 2 of replica 5 (it answered 5's last rebuilds); 1, 2 and 3 were rebuilt since and know none.
        var fourKnows = new DurableState();
        fourKnows.Apply(new IncarnationOp(5, 2));
        foreach (var id in new[] { 1, 2, 3 }) h.Start(id, new DurableState());
        h.Start(4, fourKnows);

        // 5 loses its disk again; while it chooses its life, 4 is out of its reach, so 1, 2, 3 answer 0 and it takes 1.
        var empty = new DurableState();
        empty.Apply(new RebuildOp());
        h.Start(5, empty);
        for (var t = 0; t < 100 && h.Disk[5].Incarnations.GetValueOrDefault(5) == 0; t++)
        {
            foreach (var id in Five) h.Tick(id);
            h.Drop(m => (m.From == 5 && m.To == 4) || (m.From == 4 && m.To == 5));
            h.Deliver(m => !((m.From == 5 && m.To == 4) || (m.From == 4 && m.To == 5)));
        }

        Assert.Equal(1, h.Disk[5].Incarnations[5]);
        output.WriteLine("5 chose life 1 while 4 knows life 2");

        // Everything is delivered again until 5 votes.
        for (var t = 0; t < 300 && h.R[5].Rebuilding; t++)
        {
            foreach (var id in Five) h.Tick(id);
            h.Deliver(_ => true);
        }

        Assert.False(h.R[5].Rebuilding);
        output.WriteLine($"5 votes in life {h.Disk[5].Incarnations[5]}; 4 knows life {h.Disk[4].Incarnations[5]} of it");

        // 1 and 3 go away (rebuilding, in the run); 2, 4 and 5 must elect a leader and choose a write among themselves.
        var voters = new[] { 2, 4, 5 };
        bool AmongVoters(Message m) => voters.Contains(m.From) && voters.Contains(m.To);
        var leader = voters.FirstOrDefault(id => h.R[id].Role == ReplicaRole.Leader);
        if (leader != 0)
        {
            // Depose the sitting leader: it restarts from its disk, as a kill and restart would.
            h.Net.RemoveAll(m => m.From == leader || m.To == leader);
            h.Start(leader, h.Disk[leader]);
        }

        var elected = 0;
        for (var t = 0; t < 2000 && elected == 0; t++)
        {
            foreach (var id in voters) h.Tick(id);
            h.Drop(m => !AmongVoters(m));
            h.Deliver(AmongVoters);
            elected = voters.FirstOrDefault(id => h.R[id].Role == ReplicaRole.Leader);
        }

        var failures = string.Join("\n", voters.Select(id => $"{id}: {h.R[id].LastCandidacyFailure}"));
        output.WriteLine(failures);
        Assert.True(elected != 0, $"no leader among 2, 4, 5:\n{failures}");
        h.Propose(elected, "after");
        for (var t = 0; t < 20; t++) { foreach (var id in voters) h.Tick(id); h.Drop(m => !AmongVoters(m)); h.Deliver(AmongVoters); }
        Assert.Contains("after", h.Applied[elected].Values);
    }
}
