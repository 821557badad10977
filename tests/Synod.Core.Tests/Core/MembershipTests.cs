using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Tests.Core;

/// <summary>
/// Membership on real cores (docs/protocol.md, "Membership"): a change chosen in slot s governs from s + α on every
/// replica (I21); a leader asks a voter that joined for its promise before proposing a slot the new configuration
/// governs (I22); learners are never counted (I23), and with the bug learner-votes they are.
/// </summary>
public sealed class MembershipTests
{
    private static readonly int[] Three = [1, 2, 3];
    private const int Alpha = ReplicaOptions.ConfigurationDelaySlots;

    [Fact]
    public void I21_a_change_chosen_in_slot_s_governs_from_s_plus_alpha_on_every_replica_and_an_idle_leader_fills_the_gap()
    {
        var h = LeaderThreeOf(Three);
        var slot = Change(h, 0, Member(1), Member(2), Member(3), Learner(4));

        foreach (var id in Three)
        {
            var epoch = h.R[id].ConfigurationEpochs.Single(e => e.Configuration.Revision == 1);
            Assert.Equal(slot, epoch.ChosenAt);
            Assert.Equal(slot + Alpha, epoch.EffectiveFrom);
            Assert.Equal([4], epoch.Configuration.Learners);
        }

        // Nothing else to propose: the leader fills the slots up to the change with no-ops, and it takes effect.
        Settle(h, Three, 400);
        Assert.All(Three, id => Assert.Equal(1, h.R[id].CurrentConfiguration.Revision));
        Assert.All(Three, id => Assert.True(h.R[id].CommitIndex >= slot + Alpha - 1));
    }

    [Fact]
    public void A_change_that_expects_an_old_revision_or_comes_while_another_is_pending_changes_nothing_and_says_why()
    {
        var h = LeaderThreeOf(Three);
        var outcomes = new List<ConfigurationOutcome>();
        h.R[3].Propose(new ConfigurationCommand(1, 0, [Member(1), Member(2), Member(3), Learner(4)]).Encode());
        h.R[3].Propose(new ConfigurationCommand(7, 0, [Member(1), Member(2), Member(3), Learner(5)]).Encode());
        h.R[3].Propose(new ConfigurationCommand(8, 1, [Member(1), Member(2), Member(3), Learner(4), Learner(5)]).Encode());
        for (var t = 0; t < 20; t++)
        {
            h.R[3].Tick();
            var ready = h.R[3].TakeReady();
            outcomes.AddRange(ready.ConfigurationOutcomes);
            foreach (var op in ready.PersistOps) { h.Disk[3].Apply(op); }
            h.Net.AddRange(ready.Messages);
            h.R[3].Persisted(ready.Number);
            h.Drop(m => m.To is not (1 or 2 or 3));
            h.Deliver(m => m.To is 1 or 2);
            foreach (var message in h.Net.Where(m => m.To == 3).ToList()) { h.Net.Remove(message); h.R[3].Step(message); }
        }

        Assert.True(outcomes.Count == 3, string.Join("; ", outcomes));
        Assert.Contains(outcomes, o => o.RequestId == 1 && o.Refusal is null && o.Configuration!.Revision == 1);
        Assert.Contains(outcomes, o => o.RequestId == 7 && o.Refusal!.Contains("at revision 1, not 0", StringComparison.Ordinal));
        Assert.Contains(outcomes, o => o.RequestId == 8 && o.Refusal!.Contains("has not taken effect yet; one change at a time", StringComparison.Ordinal));
        Assert.Equal(1, h.R[3].LatestConfiguration.Revision);
    }

    [Fact]
    public void I22_a_leader_asks_a_new_voter_to_promise_before_it_proposes_a_slot_the_new_configuration_governs()
    {
        // 3 leads with promises from 2 and 3 only (1 was down at its election).
        var h = new CoreHarness(Three);
        h.StartAll();
        Elect(h, Three, leader: 3, deaf: 1);
        var learner = AddLearner(h, 4);

        // Promote 4: voters 1,2,3,4, a quorum is 3, and only 2 and 3 promised this leadership.
        var slot = Change(h, 1, [Member(1), Member(2), Member(3), Member(4)], deliverTo: [1, 2, 3, 4]);
        var from = slot + Alpha;
        Assert.Equal(from, h.R[3].ConfigurationEpochs[^1].EffectiveFrom);

        // Up to the change, and not past it, until a quorum of the new configuration promised.
        Settle(h, [1, 2, 3, 4], 300, deliver: m => m is not Prepare { FromSlot: > 1 } && m is not Promise { FromSlot: > 1 });
        Assert.Equal(from - 1, h.R[3].CommitIndex);
        Assert.Equal(from, h.R[3].NextSlot);
        h.Propose(3, "after");
        h.Tick(3, 5);
        Assert.Equal(from, h.R[3].NextSlot);
        Assert.Contains(h.Net, m => m is Prepare { FromSlot: var f } p && f == from && p.To == 4);

        Settle(h, [1, 2, 3, 4], 50);
        Assert.True(h.R[3].CommitIndex >= from);
        Assert.Equal("after", h.Applied[4][from]);
        Assert.Null(h.Broken());
        GC.KeepAlive(learner);
    }

    [Theory]
    [InlineData(ProtocolBugs.None, false)]
    [InlineData(ProtocolBugs.LearnerVotes, true)]
    public void I23_a_leader_and_a_learner_are_no_quorum_of_three_voters(ProtocolBugs bugs, bool chosen)
    {
        var h = new CoreHarness(Three, bugs);
        h.StartAll();
        Elect(h, Three, leader: 3);
        AddLearner(h, 4);
        Settle(h, [1, 2, 3, 4], 400);
        Assert.Equal(1, h.R[3].CurrentConfiguration.Revision);

        // 1 and 2 hear nothing: only the leader and the learner accept.
        var before = h.R[3].CommitIndex;
        h.Propose(3, "alone");
        Settle(h, [3, 4], 30, deliver: m => m.To is 3 or 4 && m.From is 3 or 4);
        Assert.Equal(chosen, h.R[3].CommitIndex > before);
    }

    private static ConfigurationMember Member(int id) => new(id, Voter: true, id <= 3 ? "" : $"host{id}:1");

    private static ConfigurationMember Learner(int id) => new(id, Voter: false, $"host{id}:1");

    private static CoreHarness LeaderThreeOf(int[] members)
    {
        var h = new CoreHarness(members);
        h.StartAll();
        Elect(h, members, leader: 3);
        return h;
    }

    /// <summary>Ticks until <paramref name="leader"/> leads, with <paramref name="deaf"/> hearing nothing meanwhile.</summary>
    private static void Elect(CoreHarness h, int[] members, int leader, int deaf = 0)
    {
        for (var t = 0; t < 200 && h.R[leader].Role != ReplicaRole.Leader; t++)
        {
            foreach (var id in members) { if (id != deaf) { h.Tick(id); } }
            h.Drop(m => m.To == deaf || m.From == deaf);
            h.Deliver(_ => true);
        }

        Assert.Equal(ReplicaRole.Leader, h.R[leader].Role);
    }

    /// <summary>Replica <paramref name="id"/> starts empty and is added as a learner; returns once it is in effect.</summary>
    private static Replica AddLearner(CoreHarness h, int id)
    {
        h.Start(id, new DurableState());
        Change(h, 0, [Member(1), Member(2), Member(3), Learner(id)], deliverTo: [1, 2, 3, id]);
        Settle(h, [1, 2, 3, id], 400);
        Assert.Equal(1, h.R[3].CurrentConfiguration.Revision);
        return h.R[id];
    }

    /// <summary>Proposes a change at the leader (3) and delivers until it is chosen; returns its slot.</summary>
    private static long Change(CoreHarness h, long expected, params ConfigurationMember[] members) =>
        Change(h, expected, members, deliverTo: Three);

    private static long Change(CoreHarness h, long expected, ConfigurationMember[] members, int[] deliverTo)
    {
        var revision = h.R[3].LatestConfiguration.Revision;
        h.R[3].Propose(new ConfigurationCommand(1, expected, members).Encode());
        h.Pump(3);
        for (var t = 0; t < 50 && h.R[3].LatestConfiguration.Revision == revision; t++)
        {
            h.Deliver(m => deliverTo.Contains(m.To));
            foreach (var id in deliverTo) { h.Tick(id); }
        }

        Assert.Equal(revision + 1, h.R[3].LatestConfiguration.Revision);
        return h.R[3].ConfigurationEpochs[^1].ChosenAt;
    }

    private static void Settle(CoreHarness h, int[] ids, int ticks, Func<Message, bool>? deliver = null)
    {
        for (var t = 0; t < ticks; t++)
        {
            foreach (var id in ids) { h.Tick(id); }
            h.Deliver(m => ids.Contains(m.To) && (deliver?.Invoke(m) ?? true));
            h.Drop(m => !ids.Contains(m.To) || !(deliver?.Invoke(m) ?? true));
        }
    }
}

/// <summary>
/// The cold review's H1 as a golden schedule (I24): replica 1 is cut off while 4 joins and is promoted and 2 is removed,
/// and a write is chosen by 3 and 4 alone in the configuration that results. Then 3 and 4 fall silent, and 1, knowing only
/// the first configuration, leads with promises from 1 and 2, who never saw the write. A read at 1 must not be served
/// below the write's slot: 1 must first learn the later configurations and hear from a quorum of them.
/// </summary>
public sealed class MembershipReadTests
{
    private static readonly int[] Three = [1, 2, 3];

    [Theory]
    [InlineData(ProtocolBugs.None, true)]
    [InlineData(ProtocolBugs.ReadsBeforeEstablished, false)]
    public void I24_a_leader_that_lags_behind_configuration_changes_serves_no_read_below_a_write_they_chose(ProtocolBugs bugs, bool safe)
    {
        var h = new CoreHarness(Three, bugs);
        h.StartAll();
        MembershipSteps.Elect(h, [1, 2, 3], 3);

        // 1 hears nothing from here on, until it stands.
        h.Start(4, new DurableState());
        var all = new[] { 2, 3, 4 };
        MembershipSteps.Change(h, 0, [MembershipSteps.M(1), MembershipSteps.M(2), MembershipSteps.M(3), MembershipSteps.L(4)], all);
        MembershipSteps.Settle(h, all, 400);
        MembershipSteps.Change(h, 1, [MembershipSteps.M(1), MembershipSteps.M(2), MembershipSteps.M(3), MembershipSteps.M(4)], all);
        MembershipSteps.Settle(h, all, 400);
        MembershipSteps.Change(h, 2, [MembershipSteps.M(1), MembershipSteps.M(3), MembershipSteps.M(4)], all);
        MembershipSteps.Settle(h, all, 400);
        Assert.Equal(3, h.R[3].CurrentConfiguration.Revision);

        // The write, chosen by 3 and 4: a quorum of voters 1, 3, 4.
        h.Propose(3, "w");
        MembershipSteps.Settle(h, [3, 4], 20);
        var written = h.Applied[3].Single(p => p.Value == "w").Key;
        Assert.True(h.R[3].CommitIndex >= written);

        // 3 falls silent. 1 stands with 2's promise (2 is removed, but still an acceptor), before it has caught up: it is
        // told nothing but answers to its own pre-vote and Prepare, so it knows only the first configuration.
        h.Drop(_ => true);
        bool ToOneOnlyAnswers(Message m) => m.To != 1 || m is PreVoteReply or Promise or Reject;
        for (var t = 0; t < 400 && h.R[1].Role != ReplicaRole.Leader; t++)
        {
            h.Tick(1);
            h.Tick(2);
            h.Drop(m => m.To is not (1 or 2) || !ToOneOnlyAnswers(m));
            h.Deliver(m => m.To is 1 or 2 && ToOneOnlyAnswers(m));
        }

        Assert.True(h.R[1].Role == ReplicaRole.Leader, $"1: {h.R[1].Role} {h.R[1].LastCandidacyFailure} commit {h.R[1].CommitIndex}");
        Assert.Equal(0, h.R[1].CurrentConfiguration.Revision);

        // A read at once; then 1, 2 and 4 talk (3 stays silent).
        h.R[1].RequestRead(7);
        h.Pump(1);
        for (var t = 0; t < 400; t++)
        {
            h.Tick(1);
            h.Tick(2);
            h.Tick(4);
            h.Drop(m => m.To == 3 || m.From == 3);
            h.Deliver(m => m.To is 1 or 2 or 4 && m.From != 3);
        }

        var served = h.Reads.Where(r => r.Replica == 1 && r.ReadId == 7).ToList();
        if (safe)
        {
            // 4's late promise reports the write; the read is served only after it, above it.
            Assert.NotEmpty(served);
            Assert.All(served, r => Assert.True(r.Index >= written, $"read served at {r.Index}, below the write at {written}"));
        }
        else
        {
            Assert.Contains(served, r => r.Index < written);
        }
    }
}

/// <summary>Steps the membership tests on real cores share: elect, change the configuration at leader 3, settle.</summary>
internal static class MembershipSteps
{
    public static ConfigurationMember M(int id) => new(id, Voter: true, id <= 3 ? "" : $"host{id}:1");

    public static ConfigurationMember L(int id) => new(id, Voter: false, $"host{id}:1");

    public static void Elect(CoreHarness h, int[] members, int leader)
    {
        for (var t = 0; t < 200 && h.R[leader].Role != ReplicaRole.Leader; t++)
        {
            foreach (var id in members) { h.Tick(id); }
            h.Deliver(_ => true);
        }

        Assert.Equal(ReplicaRole.Leader, h.R[leader].Role);
    }

    public static void Change(CoreHarness h, long expected, ConfigurationMember[] members, int[] ids)
    {
        var revision = h.R[3].LatestConfiguration.Revision;
        h.R[3].Propose(new ConfigurationCommand(1, expected, members).Encode());
        h.Pump(3);
        for (var t = 0; t < 50 && h.R[3].LatestConfiguration.Revision == revision; t++)
        {
            h.Drop(m => !ids.Contains(m.To));
            h.Deliver(m => ids.Contains(m.To));
            foreach (var id in ids) { h.Tick(id); }
        }

        Assert.Equal(revision + 1, h.R[3].LatestConfiguration.Revision);
    }

    public static void Settle(CoreHarness h, int[] ids, int ticks)
    {
        for (var t = 0; t < ticks; t++)
        {
            foreach (var id in ids) { h.Tick(id); }
            h.Drop(m => !ids.Contains(m.To));
            h.Deliver(m => ids.Contains(m.To));
        }
    }
}

/// <summary>A replica that joined, was promoted and is removed again learns that it was, while the cluster writes on.</summary>
public sealed class MembershipRemovalTests
{
    [Fact]
    public void A_removed_replica_is_told_the_commit_index_until_it_knows_it_was_removed()
    {
        var h = new CoreHarness([1, 2, 3]);
        h.StartAll();
        int[] all = [1, 2, 3, 4];
        MembershipSteps.Elect(h, [1, 2, 3], 3);
        h.Start(4, new DurableState());
        MembershipSteps.Change(h, 0, [MembershipSteps.M(1), MembershipSteps.M(2), MembershipSteps.M(3), MembershipSteps.L(4)], all);
        MembershipSteps.Settle(h, all, 300);
        MembershipSteps.Change(h, 1, [MembershipSteps.M(1), MembershipSteps.M(2), MembershipSteps.M(3), MembershipSteps.M(4)], all);
        MembershipSteps.Settle(h, all, 300);
        MembershipSteps.Change(h, 2, [MembershipSteps.M(1), MembershipSteps.M(2), MembershipSteps.M(3)], all);
        for (var t = 0; t < 300; t++)
        {
            h.Propose(3, $"w{t}");
            foreach (var id in all) { h.Tick(id); }
            h.Deliver(m => all.Contains(m.To));
        }

        Assert.Equal(3, h.R[3].CurrentConfiguration.Revision);
        Assert.True(h.R[4].Removed, $"4: commit {h.R[4].CommitIndex}, configuration {h.R[4].CurrentConfiguration}, latest {h.R[4].LatestConfiguration} from {h.R[4].LatestConfigurationFrom}; leader commit {h.R[3].CommitIndex}, peers {string.Join(",", h.R[3].PeerIds)}");
        Assert.DoesNotContain(4, h.R[3].PeerIds);
    }
}
