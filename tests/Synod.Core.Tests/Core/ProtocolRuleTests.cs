using System.Text;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Tests.Core;

/// <summary>Single rules of the protocol, each tested on one core driven by hand. Names cite the rule (docs/protocol.md).</summary>
public sealed class ProtocolRuleTests
{
    private static readonly int[] ThreeMembers = [1, 2, 3];

    private static Replica NewReplica(int id = 1, DurableState? state = null) =>
        new(new ReplicaOptions { Id = id, Members = ThreeMembers }, new SeededRandom(7), state);

    private static byte[][] Batch(string text) => [Encoding.UTF8.GetBytes(text)];

    [Fact]
    public void I1_an_acceptor_never_accepts_below_its_promise()
    {
        var acceptor = NewReplica();
        acceptor.Step(new Prepare(3, 1, new Ballot(5, 3), 1));
        acceptor.TakeReady();
        acceptor.Step(new Accept(2, 1, new Ballot(4, 2), 1, Batch("put a 1"), 0));
        var ready = acceptor.TakeReady();

        Assert.DoesNotContain(ready.PersistOps, op => op is AcceptOp);
        var reject = Assert.Single(ready.Messages.OfType<Reject>());
        Assert.Equal(new Ballot(5, 3), reject.Promised);
        Assert.Empty(ready.Messages.OfType<Accepted>());
    }

    [Fact]
    public void I2_a_promise_is_in_the_same_ready_as_its_persist_op_so_it_is_durable_before_it_leaves()
    {
        var acceptor = NewReplica();
        acceptor.Step(new Prepare(3, 1, new Ballot(1, 3), 1));
        var ready = acceptor.TakeReady();

        Assert.Contains(new PromiseOp(new Ballot(1, 3)), ready.PersistOps);
        Assert.Single(ready.Messages.OfType<Promise>());
    }

    [Fact]
    public void I2_an_acceptance_is_in_the_same_ready_as_its_persist_op()
    {
        var acceptor = NewReplica();
        acceptor.Step(new Accept(3, 1, new Ballot(1, 3), 1, Batch("put a 1"), 0));
        var ready = acceptor.TakeReady();

        Assert.Contains(ready.PersistOps, op => op is AcceptOp { Slot: 1 });
        Assert.Single(ready.Messages.OfType<Accepted>());
    }

    [Fact]
    public void I2_a_ready_with_a_promise_or_an_acceptance_must_be_synced_before_its_messages_leave()
    {
        var promising = NewReplica();
        promising.Step(new Prepare(3, 1, new Ballot(1, 3), 1));
        Assert.True(promising.TakeReady().MustSyncBeforeSending);

        var accepting = NewReplica();
        accepting.Step(new Accept(3, 1, new Ballot(1, 3), 1, Batch("put a 1"), 0));
        Assert.True(accepting.TakeReady().MustSyncBeforeSending);
    }

    [Fact]
    public void I2_learning_a_commit_vouches_for_nothing_so_its_records_need_no_sync_before_sending()
    {
        var follower = NewReplica();
        follower.Step(new Accept(3, 1, new Ballot(1, 3), 1, Batch("put a 1"), 0));
        follower.TakeReady();
        follower.Step(new Commit(3, 1, new Ballot(1, 3), 1));
        var ready = follower.TakeReady();

        Assert.Contains(ready.PersistOps, op => op is CommitOp { CommitIndex: 1 });
        Assert.All(ready.PersistOps, op => Assert.True(op is CommitOp or ChosenOp, $"{op} must be durable before sending"));
        Assert.False(ready.MustSyncBeforeSending);
        Assert.Single(ready.Committed);
    }

    [Fact]
    public void I3_a_promise_reports_the_accepted_value_and_its_ballot()
    {
        var acceptor = NewReplica();
        acceptor.Step(new Accept(2, 1, new Ballot(1, 2), 1, Batch("put a 1"), 0));
        acceptor.TakeReady();
        for (var tick = 0; tick < acceptor.Options.ElectionTimeoutTicks; tick++)
        {
            // Leader 2 falls silent; until then the acceptor would stay loyal to it and ignore other candidates.
            acceptor.Tick();
        }

        acceptor.TakeReady();
        acceptor.Step(new Prepare(3, 1, new Ballot(2, 3), 1));
        var promise = Assert.Single(acceptor.TakeReady().Messages.OfType<Promise>());

        var entry = Assert.Single(promise.Entries);
        Assert.Equal(1, entry.Slot);
        Assert.Equal(new Ballot(1, 2), entry.Ballot);
        Assert.Equal("put a 1", Encoding.UTF8.GetString(entry.Commands[0]));
    }

    [Fact]
    public void I4_a_learner_applies_nothing_before_the_leader_says_it_is_chosen()
    {
        var follower = NewReplica();
        follower.Step(new Accept(3, 1, new Ballot(1, 3), 1, Batch("put a 1"), 0));
        Assert.Empty(follower.TakeReady().Committed);

        follower.Step(new Commit(3, 1, new Ballot(1, 3), 1));
        var committed = Assert.Single(follower.TakeReady().Committed);
        Assert.Equal(1, committed.Slot);
    }

    [Fact]
    public void I4_a_commit_at_another_ballot_does_not_make_a_value_accepted_at_an_older_ballot_chosen()
    {
        var follower = NewReplica();
        follower.Step(new Accept(2, 1, new Ballot(1, 2), 1, Batch("put a 1"), 0));
        follower.TakeReady();
        follower.Step(new Commit(3, 1, new Ballot(2, 3), 1));
        var ready = follower.TakeReady();

        Assert.Empty(ready.Committed);
        Assert.Single(ready.Messages.OfType<CatchUpRequest>());
    }

    [Fact]
    public void Stickiness_an_acceptor_that_hears_a_leader_promises_no_other_candidate()
    {
        var acceptor = NewReplica();
        acceptor.Step(new Accept(2, 1, new Ballot(1, 2), 1, Batch("put a 1"), 0));
        acceptor.TakeReady();
        acceptor.Step(new Prepare(3, 1, new Ballot(2, 3), 1));

        Assert.Empty(acceptor.TakeReady().Messages.OfType<Promise>());
        Assert.Equal(new Ballot(1, 2), acceptor.Promised);
    }

    [Fact]
    public void I5_ballots_order_by_round_then_replica_id_so_no_two_proposers_share_one()
    {
        Assert.True(new Ballot(2, 1) > new Ballot(1, 5));
        Assert.True(new Ballot(2, 3) > new Ballot(2, 1));
        Assert.NotEqual(new Ballot(2, 3), new Ballot(2, 1));
    }

    [Fact]
    public void I6_a_restarted_replica_keeps_its_promise_and_accepted_values()
    {
        var disk = new DurableState();
        var first = NewReplica();
        first.Step(new Prepare(3, 1, new Ballot(4, 3), 1));
        first.Step(new Accept(3, 1, new Ballot(4, 3), 1, Batch("put a 1"), 0));
        foreach (var op in first.TakeReady().PersistOps)
        {
            disk.Apply(op);
        }

        var restarted = NewReplica(state: disk);
        Assert.Equal(new Ballot(4, 3), restarted.Promised);
        restarted.Step(new Accept(2, 1, new Ballot(3, 2), 1, Batch("put b 2"), 0));
        Assert.Single(restarted.TakeReady().Messages.OfType<Reject>());
    }

    [Fact]
    public void I7_a_read_is_not_confirmed_before_a_quorum_acknowledges_a_round_started_after_it()
    {
        var leader = ElectLeader();
        leader.RequestRead(1);
        var ready = leader.TakeReady();
        Assert.Empty(ready.ReadStates);
        var heartbeat = ready.Messages.OfType<Heartbeat>().First();
        Assert.True(heartbeat.ReadRound > 0);

        leader.Step(new HeartbeatAck(2, 3, heartbeat.Ballot, heartbeat.ReadRound, 0));
        Assert.Single(leader.TakeReady().ReadStates);
    }

    [Fact]
    public void I7_an_acknowledgement_of_an_older_round_does_not_confirm_a_newer_read()
    {
        var leader = ElectLeader();
        leader.RequestRead(1);
        var round = leader.TakeReady().Messages.OfType<Heartbeat>().First().ReadRound;
        leader.Step(new HeartbeatAck(1, 3, leader.Ballot, round - 1, 0));

        Assert.Empty(leader.TakeReady().ReadStates);
    }

    [Fact]
    public void Options_validation_names_the_setting_that_is_wrong()
    {
        var bad = new ReplicaOptions { Id = 1, Members = ThreeMembers, ElectionTimeoutTicks = 3, HeartbeatIntervalTicks = 2 };
        var error = Assert.Throws<ArgumentException>(bad.Validate);
        Assert.Contains("ElectionTimeoutTicks", error.Message);

        // An id above every member's may join later; one among them that is not a member may not.
        var outsider = new ReplicaOptions { Id = 2, Members = [1, 3, 5] };
        Assert.Contains("not in Members", Assert.Throws<ArgumentException>(outsider.Validate).Message);
    }

    /// <summary>Replica 3 of three, elected with its peers' promises delivered by hand.</summary>
    private static Replica ElectLeader()
    {
        var leader = new Replica(new ReplicaOptions { Id = 3, Members = ThreeMembers }, new SeededRandom(1));
        Ready ready;
        do
        {
            leader.Tick();
            ready = leader.TakeReady();
            leader.Persisted(ready.Number);
            foreach (var preVote in ready.Messages.OfType<PreVote>().Where(p => p.To == 1))
            {
                leader.Step(new PreVoteReply(1, 3, preVote.Ballot, true, Ballot.Zero));
                ready = leader.TakeReady();
                leader.Persisted(ready.Number);
            }
        }
        while (!ready.Messages.OfType<Prepare>().Any());

        var prepare = ready.Messages.OfType<Prepare>().First();
        leader.Step(new Promise(1, 3, prepare.Ballot, prepare.FromSlot, [], 0, 0, false));
        leader.Persisted(leader.TakeReady().Number);
        Assert.Equal(ReplicaRole.Leader, leader.Role);
        return leader;
    }

    [Fact]
    public void A_command_that_waited_for_a_leader_longer_than_ProposalWaitTicksMax_is_never_passed_on()
    {
        var follower = new Replica(new ReplicaOptions { Id = 1, Members = ThreeMembers, ProposalWaitTicksMax = 5, InitialElectionDelayTicks = 1000 }, new SeededRandom(7));
        follower.Propose(Encoding.UTF8.GetBytes("put late 1"));
        for (var i = 0; i < 6; i++)
        {
            follower.Tick();
        }

        follower.Propose(Encoding.UTF8.GetBytes("put fresh 1"));
        follower.TakeReady();

        // Leader 3 appears: only the command that has not expired goes to it.
        follower.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 0, 0, 0));
        var forwards = follower.TakeReady().Messages.OfType<Forward>().ToList();

        Assert.Equal(1, follower.ExpiredProposals);
        Assert.Equal(["put fresh 1"], forwards.SelectMany(f => f.Commands).Select(c => Encoding.UTF8.GetString(c)));
    }
}
