using System.Text;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Tests.Core;

/// <summary>
/// I14 (docs/protocol.md): a replica that lost its disk rejoins as a non-voter, and votes again only once a leader was
/// established above every ballot it could have promised before, and it knows every slot that leader's phase 1 covered.
/// </summary>
public sealed class RebuildRuleTests
{
    private static readonly int[] ThreeMembers = [1, 2, 3];

    private static Replica NewRebuildingReplica()
    {
        var state = new DurableState();
        state.Apply(new RebuildOp());
        return new Replica(new ReplicaOptions { Id = 1, Members = ThreeMembers }, new SeededRandom(7), state);
    }

    private static Ready Settle(Replica replica)
    {
        var ready = replica.TakeReady();
        replica.Persisted(ready.Number);
        return ready;
    }

    /// <summary>Ticks until the rebuilding replica asks in the given life, and returns what it sent.</summary>
    private static VoterQuery NextQuery(Replica replica)
    {
        for (var i = 0; i < 100; i++)
        {
            replica.Tick();
            if (Settle(replica).Messages.OfType<VoterQuery>().FirstOrDefault() is { } query)
            {
                return query;
            }
        }

        throw new InvalidOperationException("the rebuilding replica never asked its peers.");
    }

    /// <summary>Replicas 2 and 3 tell the rebuilding replica the life they know of it (0), then answer the floor in its new life.</summary>
    private static void LearnFloor(Replica replica, Ballot fromTwo, Ballot fromThree)
    {
        Assert.Equal(0, AnswerTwice(replica, fromTwo, fromThree));
        Assert.Equal(1, AnswerTwice(replica, fromTwo, fromThree));
    }

    /// <summary>
    /// Replicas 2 and 3 (both in life 0) answer the next question, then the confirming round it asks at once (I18);
    /// returns the life the question was asked in.
    /// </summary>
    private static long AnswerTwice(Replica replica, Ballot fromTwo, Ballot fromThree)
    {
        var query = NextQuery(replica);
        replica.Step(Answer(2, query, fromTwo));
        replica.Step(Answer(3, query, fromThree));
        var confirm = Settle(replica).Messages.OfType<VoterQuery>().First();
        Assert.Equal(query.Incarnation, confirm.Incarnation);
        Assert.True(confirm.Round > query.Round, $"the confirming round {confirm.Round} follows {query.Round}");
        replica.Step(Answer(2, confirm, fromTwo));
        replica.Step(Answer(3, confirm, fromThree));
        return query.Incarnation;
    }

    private static VoterQueryReply Answer(int from, VoterQuery query, Ballot promised, long life = 0) =>
        new(from, query.From, promised, KnownIncarnation: query.Incarnation, Incarnation: query.Incarnation, Round: query.Round, Life: life);

    [Fact]
    public void I14_a_rebuilding_replica_neither_promises_nor_accepts()
    {
        var replica = NewRebuildingReplica();
        replica.Step(new Prepare(3, 1, new Ballot(9, 3), 1));
        replica.Step(new Accept(3, 1, new Ballot(9, 3), 1, [Encoding.UTF8.GetBytes("put a 1")], 0));
        var ready = Settle(replica);

        Assert.True(replica.Rebuilding);
        Assert.Empty(ready.Messages.OfType<Promise>());
        Assert.Empty(ready.Messages.OfType<Accepted>());
        Assert.DoesNotContain(ready.PersistOps, op => op is PromiseOp or AcceptOp);
    }

    [Fact]
    public void I14_the_floor_is_the_largest_promise_of_a_quorum_of_voting_peers()
    {
        var replica = NewRebuildingReplica();
        LearnFloor(replica, new Ballot(4, 2), new Ballot(6, 3));
        var ready = Settle(replica);

        Assert.Contains(new PromiseOp(new Ballot(6, 3)), ready.PersistOps);
        Assert.Equal(new Ballot(6, 3), replica.Promised);
        Assert.True(replica.Rebuilding);
    }

    [Fact]
    public void I14_a_leader_at_the_floor_is_asked_to_run_phase_1_again_and_is_not_voted_for()
    {
        var replica = NewRebuildingReplica();
        LearnFloor(replica, new Ballot(6, 3), new Ballot(6, 3));
        Reballot? reballot = null;
        for (var i = 0; i < 20 && reballot is null; i++)
        {
            replica.Step(new Heartbeat(3, 1, new Ballot(6, 3), true, 0, 0, 0));
            replica.Tick();
            reballot = Settle(replica).Messages.OfType<Reballot>().FirstOrDefault();
        }

        Assert.NotNull(reballot);
        Assert.Equal(3, reballot.To);
        Assert.Equal(new Ballot(6, 3), reballot.Above);
        Assert.True(replica.Rebuilding);
    }

    [Fact]
    public void I14_it_votes_again_only_once_it_knows_every_slot_the_new_leaders_phase_1_covered()
    {
        var replica = NewRebuildingReplica();
        LearnFloor(replica, new Ballot(6, 3), new Ballot(6, 3));
        Settle(replica);

        replica.Step(new Heartbeat(3, 1, new Ballot(7, 3), true, 2, 0, Phase1Slot: 2));
        replica.Tick();
        var waiting = Settle(replica);
        Assert.True(replica.Rebuilding);
        Assert.Contains(waiting.Messages, m => m is CatchUpRequest { To: 3 });

        replica.Step(new CatchUpReply(3, 1, [new ChosenEntry(1, []), new ChosenEntry(2, [])], 2));
        replica.Tick();
        var voter = Settle(replica);
        Assert.False(replica.Rebuilding);
        Assert.Contains(new VoterOp(new Ballot(7, 3)), voter.PersistOps);

        replica.Step(new Accept(3, 1, new Ballot(7, 3), 3, [Encoding.UTF8.GetBytes("put a 1")], 2));
        Assert.Single(Settle(replica).Messages.OfType<Accepted>());
    }

    [Fact]
    public void I14_a_rebuilding_replica_that_learns_the_membership_changed_never_votes_and_says_to_replace_it()
    {
        var replica = NewRebuildingReplica();
        LearnFloor(replica, new Ballot(6, 3), new Ballot(6, 3));
        Settle(replica);
        var change = new ConfigurationCommand(1, 0, [new ConfigurationMember(1, true, ""), new ConfigurationMember(2, true, ""), new ConfigurationMember(3, true, ""),
            new ConfigurationMember(4, false, "host4:1")]).Encode();

        replica.Step(new Heartbeat(3, 1, new Ballot(7, 3), true, 2, 0, Phase1Slot: 2));
        replica.Step(new CatchUpReply(3, 1, [new ChosenEntry(1, [change]), new ChosenEntry(2, [])], 2));
        for (var i = 0; i < 20; i++)
        {
            replica.Tick();
            Settle(replica);
        }

        Assert.True(replica.Rebuilding);
        Assert.Contains("synod member replace 1", replica.RebuildRefusal, StringComparison.Ordinal);
        replica.Step(new Accept(3, 1, new Ballot(7, 3), 3, [Encoding.UTF8.GetBytes("put a 1")], 2));
        Assert.Empty(Settle(replica).Messages.OfType<Accepted>());
    }

    [Fact]
    public void I14_a_restart_while_rebuilding_stays_a_non_voter()
    {
        var replica = NewRebuildingReplica();
        LearnFloor(replica, new Ballot(6, 3), new Ballot(6, 3));
        var disk = new DurableState();
        disk.Apply(new RebuildOp());
        foreach (var op in Settle(replica).PersistOps)
        {
            disk.Apply(op);
        }

        var restarted = new Replica(new ReplicaOptions { Id = 1, Members = ThreeMembers }, new SeededRandom(8), disk);
        restarted.Step(new Prepare(3, 1, new Ballot(9, 3), 1));
        Assert.True(restarted.Rebuilding);
        Assert.Empty(Settle(restarted).Messages.OfType<Promise>());
    }

    [Fact]
    public void I14_a_leader_asked_to_reballot_runs_phase_1_again_above_the_floor()
    {
        var leader = new Replica(new ReplicaOptions { Id = 3, Members = ThreeMembers }, new SeededRandom(1));
        Ready ready;
        do
        {
            leader.Tick();
            ready = Settle(leader);
            foreach (var preVote in ready.Messages.OfType<PreVote>().Where(p => p.To == 2))
            {
                leader.Step(new PreVoteReply(2, 3, preVote.Ballot, true, Ballot.Zero));
                ready = Settle(leader);
            }
        }
        while (!ready.Messages.OfType<Prepare>().Any());

        var prepare = ready.Messages.OfType<Prepare>().First();
        leader.Step(new Promise(2, 3, prepare.Ballot, prepare.FromSlot, [], 0, 0, false));
        Settle(leader);
        Assert.Equal(ReplicaRole.Leader, leader.Role);

        leader.Step(new Reballot(1, 3, leader.Ballot));
        var again = Settle(leader).Messages.OfType<Prepare>().ToList();
        Assert.NotEmpty(again);
        Assert.All(again, p => Assert.True(p.Ballot > prepare.Ballot));
    }

    [Fact]
    public void I14_a_voter_records_the_new_life_durably_before_it_answers_the_floor_question()
    {
        var voter = new Replica(new ReplicaOptions { Id = 2, Members = ThreeMembers }, new SeededRandom(3));
        voter.Step(new VoterQuery(1, 2, Incarnation: 4));
        var ready = Settle(voter);

        Assert.Contains(new IncarnationOp(1, 4), ready.PersistOps);
        var reply = Assert.Single(ready.Messages.OfType<VoterQueryReply>());
        Assert.Equal((4L, 4L), (reply.KnownIncarnation, reply.Incarnation));
    }

    [Fact]
    public void I14_a_candidate_discards_a_promise_from_an_earlier_life_of_its_acceptor()
    {
        var candidate = new Replica(new ReplicaOptions { Id = 3, Members = [1, 2, 3, 4, 5] }, new SeededRandom(1));
        Ready ready;
        do
        {
            candidate.Tick();
            ready = Settle(candidate);
            foreach (var preVote in ready.Messages.OfType<PreVote>().Where(p => p.To is 4 or 5))
            {
                candidate.Step(new PreVoteReply(preVote.To, 3, preVote.Ballot, true, Ballot.Zero));
                ready = Settle(candidate);
            }
        }
        while (!ready.Messages.OfType<Prepare>().Any());

        var prepare = ready.Messages.OfType<Prepare>().First();
        // Replica 1's promise is from its life 0; replica 2 has since recorded life 1 of replica 1.
        candidate.Step(new Promise(1, 3, prepare.Ballot, prepare.FromSlot, [], 0, 0, false, Incarnation: 0));
        candidate.Step(new Promise(2, 3, prepare.Ballot, prepare.FromSlot, [], 0, 0, false, 0, new Dictionary<int, long> { [1] = 1 }));
        Settle(candidate);
        Assert.Equal(ReplicaRole.Candidate, candidate.Role);

        candidate.Step(new Promise(4, 3, prepare.Ballot, prepare.FromSlot, [], 0, 0, false));
        Settle(candidate);
        Assert.Equal(ReplicaRole.Leader, candidate.Role);
    }

    [Fact]
    public void I18_a_second_copy_of_an_answer_to_the_first_round_does_not_confirm_it()
    {
        var replica = NewRebuildingReplica();
        var query = NextQuery(replica);
        replica.Step(Answer(2, query, new Ballot(4, 2)));
        replica.Step(Answer(3, query, new Ballot(4, 2)));
        Settle(replica);

        // Duplicated or retransmitted first answers were written before the confirming round began.
        replica.Step(Answer(2, query, new Ballot(4, 2)));
        replica.Step(Answer(3, query, new Ballot(4, 2)));
        Assert.DoesNotContain(Settle(replica).PersistOps, op => op is IncarnationOp { Replica: 1 });
    }

    [Fact]
    public void I18_a_voter_that_lost_its_disk_between_its_answers_is_not_counted()
    {
        var replica = NewRebuildingReplica();
        var query = NextQuery(replica);
        replica.Step(Answer(2, query, new Ballot(4, 2)));
        replica.Step(Answer(3, query, new Ballot(4, 2)));
        var confirm = Settle(replica).Messages.OfType<VoterQuery>().First();

        // 3 answers the confirming round in a new life: what its first answer said may be gone with its disk.
        replica.Step(Answer(2, confirm, new Ballot(4, 2)));
        replica.Step(Answer(3, confirm, new Ballot(4, 2), life: 1));
        Assert.DoesNotContain(Settle(replica).PersistOps, op => op is IncarnationOp { Replica: 1 });

        // The next round begins with 3's new life known, and both answers to it count.
        var again = NextQuery(replica);
        Assert.True(again.Round > confirm.Round);
        replica.Step(Answer(2, again, new Ballot(4, 2)));
        replica.Step(Answer(3, again, new Ballot(4, 2), life: 1));
        Assert.Contains(new IncarnationOp(1, 1), Settle(replica).PersistOps);
    }

    [Fact]
    public void I18_a_round_is_durable_before_its_questions_leave_and_a_restart_never_asks_it_again()
    {
        var replica = NewRebuildingReplica();
        var disk = new DurableState();
        disk.Apply(new RebuildOp());
        long asked = 0;
        for (var i = 0; i < 100 && asked == 0; i++)
        {
            replica.Tick();
            var ready = Settle(replica);
            foreach (var op in ready.PersistOps)
            {
                disk.Apply(op);
            }

            if (ready.Messages.OfType<VoterQuery>().FirstOrDefault() is { } query)
            {
                Assert.Contains(new QueryRoundOp(query.Round), ready.PersistOps);
                asked = query.Round;
            }
        }

        var restarted = new Replica(new ReplicaOptions { Id = 1, Members = ThreeMembers }, new SeededRandom(8), disk);
        var next = NextQuery(restarted);
        Assert.True(next.Round > asked, $"after a restart the replica asked round {next.Round}, not above {asked}");
    }
}
