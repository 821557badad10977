using System.Text;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Tests.Core;

/// <summary>
/// The peer message rules (docs/protocol.md, V1–V8): a message no correct replica could send is dropped by the core,
/// counted, and changes nothing — no persist op, no answer, no applied slot. Each case is one of the messages an attacker
/// used against a real cluster before peers were authenticated, or one that a damaged peer could send.
/// </summary>
public sealed class PeerMessageRuleTests
{
    private static readonly int[] FiveMembers = [1, 2, 3, 4, 5];
    private static readonly Ballot LeaderBallot = new(3, 5);
    private const long Huge = 1L << 62;

    private static byte[][] Batch(string text) => [Encoding.UTF8.GetBytes(text)];

    /// <summary>Replica 1, following leader 5 at ballot 3.5, with slot 1 chosen.</summary>
    private static Replica Follower(ProtocolBugs bugs = ProtocolBugs.None)
    {
        var follower = new Replica(new ReplicaOptions { Id = 1, Members = FiveMembers, Bugs = bugs }, new SeededRandom(7));
        follower.Step(new Accept(5, 1, LeaderBallot, 1, Batch("put a 1"), 0));
        follower.Step(new Commit(5, 1, LeaderBallot, 1));
        follower.TakeReady();
        return follower;
    }

    public static TheoryData<string, Message> Forged() => new()
    {
        { "V1 a sender that is no replica id", new Accept(Configuration.ReplicaIdMax + 1, 1, new Ballot(3, Configuration.ReplicaIdMax + 1), 2, Batch("x"), 2) },
        { "V1 addressed to another replica", new Commit(5, 2, LeaderBallot, 2) },
        { "V2 a huge ballot of no replica id", new Reject(2, 1, new Ballot(3, 1), new Ballot(1_000_000, Configuration.ReplicaIdMax + 1)) },
        { "V2 a negative round", new Prepare(2, 1, new Ballot(-1, 2), 2) },
        { "V2 a round of long.MaxValue, which the next candidacy's round + 1 would overflow", new Prepare(2, 1, new Ballot(long.MaxValue, 2), 2) },
        { "V2 a heartbeat's round above RoundMax", new Heartbeat(2, 1, new Ballot(PeerMessageRules.RoundMax + 1, 2), true, 1, 0, 0) },
        { "V3 the leader's ballot from another member", new Accept(2, 1, LeaderBallot, 2, Batch("x"), 2) },
        { "V3 a commit at another's ballot", new Commit(2, 1, LeaderBallot, 2) },
        { "V3 a prepare at another's ballot", new Prepare(2, 1, new Ballot(9, 4), 2) },
        { "V3 a handover at another's ballot", new TimeoutNow(2, 1, LeaderBallot, 1) },
        { "V3 a promise for another's ballot", new Promise(2, 1, new Ballot(9, 4), 2, [], 1, 0, false) },
        { "V4 a slot of 2^62", new Accept(5, 1, LeaderBallot, Huge, Batch("x"), Huge) },
        { "V4 a commit index of 2^62", new Heartbeat(2, 1, Ballot.Zero, false, Huge, 0, 0) },
        { "V4 a negative time up", new Heartbeat(2, 1, Ballot.Zero, false, 1, 0, 0, -5) },
        { "V4 a leader's commit of 2^62", new Commit(5, 1, LeaderBallot, Huge) },
        { "V4 a negative slot", new Accept(5, 1, LeaderBallot, -3, Batch("x"), 1) },
        { "V5 a slot far past the commit index", new Accept(5, 1, LeaderBallot, 1_000_000, Batch("x"), 1) },
        { "V6 an oversized batch", new Forward(2, 1, [.. Enumerable.Range(0, 129).Select(_ => new byte[1])]) },
        { "V8 a catch-up slot above its commit index", new CatchUpReply(2, 1, [new ChosenEntry(2, Batch("x"))], 1) },
        { "V8 an oversized snapshot chunk", new InstallSnapshot(2, 1, 10, 0, 2L * 1024 * 1024 * 1024, new byte[16]) },
    };

    [Theory]
    [MemberData(nameof(Forged))]
    public void A_message_no_correct_replica_could_send_is_dropped_counted_and_changes_nothing(string rule, Message message)
    {
        var follower = Follower();
        var promised = follower.Promised;

        follower.Step(message);
        follower.Tick();
        var ready = follower.TakeReady();

        Assert.Equal(1, follower.RefusedMessages);
        Assert.StartsWith(rule[..2], follower.LastRefusal![(follower.LastRefusal!.IndexOf(": ", StringComparison.Ordinal) + 2)..]);
        Assert.Empty(ready.PersistOps);
        Assert.Empty(ready.Committed);
        Assert.DoesNotContain(ready.Messages, m => m is Accepted or Promise or Reject or CatchUpRequest);
        Assert.Equal(promised, follower.Promised);
        Assert.Equal(1, follower.CommitIndex);
    }

    [Fact]
    public void V3_the_forged_accept_that_made_replicas_diverge_is_believed_only_with_validation_switched_off()
    {
        // The attack: another member sends an Accept at the leader's own ballot for the next slot, claiming it chosen.
        var forged = new Accept(2, 1, LeaderBallot, 2, Batch("put a forged"), 2);

        var guarded = Follower();
        guarded.Step(forged);
        Assert.Equal(1, guarded.CommitIndex);

        var unguarded = Follower(ProtocolBugs.SkipMessageValidation);
        unguarded.Step(forged);
        var ready = unguarded.TakeReady();
        Assert.Equal(2, unguarded.CommitIndex);
        Assert.Equal("put a forged", Encoding.UTF8.GetString(Assert.Single(ready.Committed).Commands[0]));
    }

    [Fact]
    public void Messages_a_correct_peer_sends_pass_every_rule()
    {
        var options = new ReplicaOptions { Id = 1, Members = FiveMembers };
        Message[] correct =
        [
            new Prepare(2, 1, new Ballot(4, 2), 2),
            new Promise(2, 1, new Ballot(4, 1), 2, [new PromisedEntry(2, new Ballot(3, 5), Batch("x"), false), new PromisedEntry(3, Ballot.Zero, Batch("y"), true)], 3, 1, false, 1, new Dictionary<int, long> { [3] = 2 }),
            new Accept(5, 1, LeaderBallot, 40, Batch("x"), 10),
            new Accepted(2, 1, new Ballot(4, 1), 2),
            new Reject(2, 1, new Ballot(4, 1), new Ballot(5, 3)),
            new Heartbeat(2, 1, Ballot.Zero, false, 0, 0, 0),
            new Heartbeat(5, 1, LeaderBallot, true, 10, 3, 8),
            new Heartbeat(5, 1, LeaderBallot, true, 10, 3, 8, SnapshotSlot: 10),
            new HeartbeatAck(2, 1, new Ballot(4, 1), 3, 10),
            new Commit(5, 1, LeaderBallot, 10),
            new CatchUpRequest(2, 1, 11, 0, 0),
            new CatchUpReply(2, 1, [new ChosenEntry(11, Batch("x"))], 12),
            new InstallSnapshot(2, 1, 10, 0, 100, new byte[100]),
            new Forward(2, 1, [new byte[3]]),
            new ReadIndexRequest(2, 1, 77),
            new ReadIndexReply(5, 1, 77, 10),
            new PreVote(2, 1, new Ballot(4, 2)),
            new PreVoteReply(2, 1, new Ballot(4, 1), true, LeaderBallot),
            new VoterQuery(2, 1, 3),
            new VoterQueryReply(2, 1, LeaderBallot, 2, 3),
            new VoterQueryReply(2, 1, LeaderBallot, 2, 3, new Dictionary<int, long> { [3] = 2, [1] = 3 }),
            new Reballot(2, 1, LeaderBallot),
            new TimeoutNow(5, 1, LeaderBallot, 10),
            new Prepare(2, 1, new Ballot(4, 2), 2, Handover: true),
        ];

        foreach (var message in correct)
        {
            Assert.Null(PeerMessageRules.Violation(message, options));
        }
    }

    [Fact]
    public void V7_a_promise_entry_accepted_above_the_promised_ballot_or_before_the_slot_asked_for_is_refused()
    {
        var options = new ReplicaOptions { Id = 1, Members = FiveMembers };
        var above = new Promise(2, 1, new Ballot(4, 1), 2, [new PromisedEntry(2, new Ballot(5, 5), Batch("x"), false)], 1, 0, false);
        var before = new Promise(2, 1, new Ballot(4, 1), 5, [new PromisedEntry(2, new Ballot(3, 5), Batch("x"), false)], 1, 0, false);
        var zeroUnchosen = new Promise(2, 1, new Ballot(4, 1), 2, [new PromisedEntry(2, Ballot.Zero, Batch("x"), false)], 1, 0, false);
        var strangeLife = new Promise(2, 1, new Ballot(4, 1), 2, [], 1, 0, false, 0, new Dictionary<int, long> { [42] = 1 });

        Assert.StartsWith("V7", PeerMessageRules.Violation(above, options));
        Assert.StartsWith("V7", PeerMessageRules.Violation(before, options));
        Assert.StartsWith("V7", PeerMessageRules.Violation(zeroUnchosen, options));
        Assert.StartsWith("V7", PeerMessageRules.Violation(strangeLife, options));
        Assert.StartsWith("V7", PeerMessageRules.Violation(new VoterQueryReply(2, 1, Ballot.Zero, 0, 0, new Dictionary<int, long> { [42] = 1 }), options));
        Assert.StartsWith("V7", PeerMessageRules.Violation(new VoterQueryReply(2, 1, Ballot.Zero, 0, 0, new Dictionary<int, long> { [3] = -1 }), options));
    }

    [Fact]
    public void V5_a_leader_proposes_nothing_more_than_SlotsBeyondCommitMax_past_its_commit_index()
    {
        // A leader whose followers stopped answering: its commit index stays, so new commands wait instead of running off.
        var options = new ReplicaOptions { Id = 3, Members = [1, 2, 3], PipelineSlotsMax = 4, PromiseEntriesMax = 4, SlotsBeyondCommitMax = 8 };
        var leader = new Replica(options, new SeededRandom(7));
        StandOnce(leader, prepare => new Promise(prepare.To, prepare.From, prepare.Ballot, prepare.FromSlot, [], 0, 0, false));
        Assert.Equal(ReplicaRole.Leader, leader.Role);

        var highest = 0L;
        for (var i = 0; i < 40; i++)
        {
            leader.Propose(Encoding.UTF8.GetBytes($"put k {i}"));
            var ready = leader.TakeReady();
            leader.Persisted(ready.Number);
            foreach (var accept in ready.Messages.OfType<Accept>())
            {
                highest = Math.Max(highest, accept.Slot);
            }

            // Pipeline slots are freed as if chosen elsewhere never happens: followers are silent, nothing is chosen.
            leader.Tick();
        }

        Assert.Equal(0, leader.CommitIndex);
        Assert.InRange(highest, 1, options.SlotsBeyondCommitMax);
    }

    [Fact]
    public void A_promise_is_built_from_the_entries_present_so_a_slot_far_ahead_costs_nothing()
    {
        // Validation off, so the slot past 2^53 lands in the log as it did before the rules existed.
        var acceptor = new Replica(new ReplicaOptions { Id = 1, Members = FiveMembers, Bugs = ProtocolBugs.SkipMessageValidation }, new SeededRandom(7));
        acceptor.Step(new Accept(5, 1, LeaderBallot, 1, Batch("put a 1"), 0));
        acceptor.Step(new Accept(5, 1, LeaderBallot, Huge, Batch("put b 1"), 0));
        acceptor.TakeReady();

        acceptor.Step(new Prepare(5, 1, new Ballot(4, 5), 1));
        var promise = Assert.Single(acceptor.TakeReady().Messages.OfType<Promise>());

        Assert.Equal([1L, Huge], promise.Entries.Select(e => e.Slot));
    }

    [Fact]
    public void A_candidate_whose_promise_reports_a_slot_past_SlotsBeyondCommitMax_does_not_fill_the_gap_with_no_ops()
    {
        var candidate = new Replica(new ReplicaOptions { Id = 5, Members = FiveMembers }, new SeededRandom(7));
        var far = 1 + candidate.Options.SlotsBeyondCommitMax + 1L;
        var after = StandOnce(candidate, prepare => new Promise(prepare.To, prepare.From, prepare.Ballot, prepare.FromSlot,
            prepare.To == 1 ? [new PromisedEntry(far, new Ballot(1, 4), Batch("x"), false)] : [], 0, 0, false));

        Assert.NotEqual(ReplicaRole.Leader, candidate.Role);
        Assert.Empty(after.Messages.OfType<Accept>());
        Assert.Contains(after.Messages, m => m is CatchUpRequest { To: 1 });
    }

    /// <summary>
    /// Ticks a lone replica until it asks for pre-votes (granted by every peer) and sends its Prepare; answers the Prepare
    /// with <paramref name="promise"/> from every peer and returns the Ready that follows.
    /// </summary>
    private static Ready StandOnce(Replica replica, Func<Prepare, Promise> promise)
    {
        for (var i = 0; i < 10_000; i++)
        {
            replica.Tick();
            var ready = replica.TakeReady();
            replica.Persisted(ready.Number);
            foreach (var preVote in ready.Messages.OfType<PreVote>())
            {
                replica.Step(new PreVoteReply(preVote.To, preVote.From, preVote.Ballot, true, Ballot.Zero));
            }

            var prepares = ready.Messages.OfType<Prepare>().ToList();
            if (prepares.Count == 0)
            {
                var next = replica.TakeReady();
                replica.Persisted(next.Number);
                prepares = [.. next.Messages.OfType<Prepare>()];
            }

            if (prepares.Count > 0)
            {
                foreach (var prepare in prepares)
                {
                    replica.Step(promise(prepare));
                }

                var after = replica.TakeReady();
                replica.Persisted(after.Number);
                return after;
            }
        }

        throw new InvalidOperationException($"replica {replica.Id} never stood for election.");
    }

    [Fact]
    public void The_server_and_the_core_name_the_same_rule_for_the_same_message()
    {
        var options = new ReplicaOptions { Id = 1, Members = FiveMembers };
        var forged = new Accept(2, 1, LeaderBallot, 2, Batch("x"), 2);
        var follower = Follower();

        follower.Step(forged);

        Assert.EndsWith(PeerMessageRules.Violation(forged, options)!, follower.LastRefusal);
        Assert.DoesNotContain(follower.TakeReady().PersistOps, op => op is AcceptOp);
    }
}
