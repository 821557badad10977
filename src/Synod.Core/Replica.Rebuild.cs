using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Core;

/// <summary>
/// Rejoining after losing durable state (Paxos Made Live §5.1: a replica with a corrupted or lost disk must not vote
/// until it cannot contradict what it said before). A rebuilding replica learns like any follower but makes no promise
/// and accepts nothing. First it asks its peers for their promises; the largest answer of a quorum of peers is a floor
/// at or above every ballot it could have promised or accepted before, because any quorum that counted its lost vote
/// shares a member with that quorum of peers. Then it waits for a leader established at a ballot B above the floor
/// (asking the sitting leader to run phase 1 again, Reballot, if its ballot is not above). B's phase 1 ran without
/// this replica, so every slot its lost acceptances could have helped choose is at or below the last slot that phase 1
/// covered, and no value at a ballot below B can be chosen any more above it. Once this replica knows every slot up
/// to that one chosen, it reports them in any promise it makes, and may vote: it starts with promise B.
/// One more hole: a candidate may still be gathering promises and count one this replica made before the loss, for a
/// ballot the floor quorum had not yet seen. So each life of a replica has a number (its incarnation): the rebuilding
/// replica first learns from a quorum of voters the latest life they know of it and takes the next, and it asks for
/// the floor in that new life; each voter records the new life durably before answering, and reports the lives it
/// knows in every promise. A candidate discards a promise from an earlier life than any promise it counts (or it
/// itself) knows of. Any quorum that counts the lost promise shares a member with the floor quorum: if that member
/// promised the candidate before answering, the floor covers the ballot; if after, its promise exposes the old life.
/// </summary>
public sealed partial class Replica
{
    private bool _rebuilding;
    private Ballot? _rebuildFloor;
    private readonly Dictionary<int, long> _incarnations = [];

    // The confirmation round (docs/protocol.md): the voters' own lives in the answers to this life's question so far;
    // the same as it was when the current round began (answers that arrived before it); and the answers to the current
    // round from a voter whose life is the one it had in its earlier answer.
    private readonly Dictionary<int, long> _answeredLives = [];
    private readonly Dictionary<int, long> _roundLives = [];
    private readonly Dictionary<int, VoterQueryReply> _confirmed = [];
    private long _queryRound;
    private bool _roundAsked;
    private long _rebuildSentTick = long.MinValue / 2;
    private Ballot? _voterBallot;
    private long _voterAfterSlot;

    /// <summary>True while this replica rebuilds its lost state and must not vote.</summary>
    public bool Rebuilding => _rebuilding;

    /// <summary>Asks for the floor, then for a ballot above it, until this replica may vote.</summary>
    private void TickRebuild()
    {
        if (!_rebuilding)
        {
            return;
        }

        MaybeBecomeVoter();
        if (!_rebuilding || _tick - _rebuildSentTick < _options.RetransmitTicks)
        {
            return;
        }

        _rebuildSentTick = _tick;
        if (_rebuildFloor is not Ballot floor)
        {
            // A new round once an answer arrived since the current one began (it may confirm it); else ask it again.
            AskVoters(newRound: !_roundAsked || !SameLives(_answeredLives, _roundLives));
        }
        else if (_voterBallot is null && HeardLeaderRecently && _leaderId is int leader)
        {
            Send(new Reballot(Id, leader, floor));
        }
    }

    private long IncarnationOf(int replica) => _incarnations.GetValueOrDefault(replica);

    private void OnVoterQuery(VoterQuery query)
    {
        // A rebuilding replica's own promise proves nothing about what it promised before; only voters answer.
        if (_rebuilding)
        {
            return;
        }

        if (query.Incarnation > IncarnationOf(query.From))
        {
            // Durable before the answer leaves (same Ready): from now on this replica's promises expose the old life.
            _incarnations[query.From] = query.Incarnation;
            _ready.PersistOps.Add(new IncarnationOp(query.From, query.Incarnation));
        }

        Send(new VoterQueryReply(
            Id, query.From, _promised, IncarnationOf(query.From), query.Incarnation, new Dictionary<int, long>(_incarnations), query.Round, IncarnationOf(Id)));
    }

    private void OnVoterQueryReply(VoterQueryReply reply)
    {
        NoteBallot(reply.Promised);
        if (!_rebuilding || reply.From == Id)
        {
            return;
        }

        AdoptLives(reply);
        if (IncarnationOf(Id) > 0 && reply.KnownIncarnation > IncarnationOf(Id))
        {
            // I17: a voter holds a later life of this replica than the one it chose (a voter that knew it was out of
            // reach when the life was chosen). A life must never go backwards, or every promise of it is discarded.
            TakeLifeAbove(reply.KnownIncarnation);
            return;
        }

        if (_rebuildFloor is not null || reply.Incarnation != IncarnationOf(Id))
        {
            return;
        }

        // Counted only if this voter answered the current round in the life it had when it answered before the round
        // began: then it held what that earlier answer recorded at the moment the round began, as every counted voter did.
        var unconfirmed = (_options.Bugs & ProtocolBugs.UnconfirmedAnswers) != 0;
        if (unconfirmed || (reply.Round == _queryRound && _roundLives.TryGetValue(reply.From, out var life) && life == reply.Life))
        {
            _confirmed[reply.From] = reply;
        }

        _answeredLives[reply.From] = reply.Life;
        if (!IsQuorumAt(_commitIndex + 1, _confirmed.Keys))
        {
            if (!IsQuorumAt(_commitIndex + 1, _roundLives.Keys) && IsQuorumAt(_commitIndex + 1, _answeredLives.Keys))
            {
                // The first quorum of answers: ask them again at once rather than at the next retransmission.
                AskVoters(newRound: true);
            }

            return;
        }

        if (reply.Incarnation == 0)
        {
            ChooseIncarnation();
            return;
        }

        // The answers to the confirming round were written after it began, and promises only grow.
        var floor = _confirmed.Values.Select(answer => answer.Promised).Aggregate(Ballot.Zero, Ballot.Max);
        _rebuildFloor = floor;
        ForgetAnswers();
        _rebuildSentTick = long.MinValue / 2;
        if (floor > _promised)
        {
            // A true lower bound of what this replica promised before, so it may be kept and acted on (rejects).
            _promised = floor;
            _ready.PersistOps.Add(new PromiseOp(floor));
        }
    }

    /// <summary>
    /// I16: a rebuilding replica takes every other replica's latest life that a voter reports, persisted (in the Ready
    /// before any that makes it a voter) before it can promise. The voters that know a life form a quorum when it is
    /// recorded; a member of that quorum that loses its disk learns the life again from its floor quorum, which shares
    /// a member with the rest, so every later promise of a quorum still exposes a promise of the older life.
    /// </summary>
    private void AdoptLives(VoterQueryReply reply)
    {
        if ((_options.Bugs & ProtocolBugs.RebuildForgetsLives) != 0 || reply.KnownIncarnations is not { } lives)
        {
            return;
        }

        foreach (var (replica, life) in lives)
        {
            // Its own life this replica chooses itself (ChooseIncarnation); adopting a reported one would skip that.
            if (replica != Id && _members.Contains(replica) && life > IncarnationOf(replica))
            {
                _incarnations[replica] = life;
                _ready.PersistOps.Add(new IncarnationOp(replica, life));
            }
        }
    }

    /// <summary>
    /// Takes the life after <paramref name="known"/>, durably, and asks the floor question again in it: what was learned
    /// in the earlier life was asked of voters that may not record it. The promise kept so far only grows.
    /// </summary>
    private void TakeLifeAbove(long known)
    {
        _incarnations[Id] = known + 1;
        _ready.PersistOps.Add(new IncarnationOp(Id, known + 1));
        _rebuildFloor = null;
        ForgetAnswers();
        _voterBallot = null;
        _rebuildSentTick = long.MinValue / 2;
    }

    /// <summary>A random first round in [2^12, 2^52): an odd multiple of 2^12, so one of 2^39 possible bases.</summary>
    private long RandomRoundBase() =>
        ((((long)_random.Next(1 << 20) << 20) | (uint)_random.Next(1 << 20)) | 1L) << 12;

    /// <summary>
    /// Sends this life's question to every peer: in a new round (persisted before the queries leave, in the same Ready,
    /// so no round number is ever used twice) that begins now, with the lives of the answers so far; or the current
    /// round again to those not yet counted in it.
    /// </summary>
    private void AskVoters(bool newRound)
    {
        var incarnation = IncarnationOf(Id);
        if (newRound)
        {
            // A rebuild that starts on an empty disk knows no earlier round of its own: it starts from a random one,
            // so that an answer still in flight from a rebuild before its last disk loss (whose rounds were lost with
            // that disk) cannot pass for an answer to this one. Rounds stay far below PeerMessageRules.NumberMax.
            _queryRound = _queryRound == 0 ? RandomRoundBase() : _queryRound + 1;
            _roundAsked = true;
            _ready.PersistOps.Add(new QueryRoundOp(_queryRound));
            _roundLives.Clear();
            foreach (var (voter, life) in _answeredLives)
            {
                _roundLives[voter] = life;
            }

            if ((_options.Bugs & ProtocolBugs.UnconfirmedAnswers) == 0)
            {
                _confirmed.Clear();
            }

            _rebuildSentTick = _tick;
        }

        var round = _queryRound;
        foreach (var member in _members)
        {
            if (member != Id && !_confirmed.ContainsKey(member))
            {
                Send(new VoterQuery(Id, member, incarnation, round));
            }
        }
    }

    private static bool SameLives(Dictionary<int, long> a, Dictionary<int, long> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var life) && life == pair.Value);

    /// <summary>Answers belong to one life's question; a new life asks afresh.</summary>
    private void ForgetAnswers()
    {
        _answeredLives.Clear();
        _roundLives.Clear();
        _confirmed.Clear();
        _roundAsked = false;
    }

    /// <summary>
    /// A confirmed quorum of voters told which life of this replica they know of. Any quorum that recorded the last life
    /// shares a member with this one, so the next number is new to all of them.
    /// </summary>
    private void ChooseIncarnation()
    {
        var incarnation = _confirmed.Values.Max(answer => answer.KnownIncarnation) + 1;
        ForgetAnswers();
        _incarnations[Id] = incarnation;
        _ready.PersistOps.Add(new IncarnationOp(Id, incarnation));
        _rebuildSentTick = long.MinValue / 2;
    }

    /// <summary>Drops every counted promise made in a life of its acceptor older than one this candidate or another promise knows of.</summary>
    private void DiscardPromisesOfLostLives()
    {
        foreach (var (from, promise) in _promises.ToList())
        {
            var latest = IncarnationOf(from);
            foreach (var other in _promises.Values)
            {
                if (other.KnownIncarnations is { } known && known.TryGetValue(from, out var life))
                {
                    latest = Math.Max(latest, life);
                }
            }

            if (promise.Incarnation < latest)
            {
                _promises.Remove(from);
                _candidacyDiscarded.Add(from);
            }
        }
    }

    /// <summary>A leader established at <paramref name="ballot"/>, whose phase 1 covered slots up to <paramref name="phase1Slot"/>, was heard.</summary>
    private void NoteEstablishedLeader(Ballot ballot, long phase1Slot)
    {
        if (!_rebuilding || _rebuildFloor is not Ballot floor || ballot <= floor || (_voterBallot is Ballot known && known >= ballot))
        {
            return;
        }

        _voterBallot = ballot;
        _voterAfterSlot = phase1Slot;
        MaybeBecomeVoter();
    }

    /// <summary>
    /// Why this rebuilding replica will never vote again, or null: it learned that the membership changed (docs/protocol.md,
    /// "Membership", what is left out). Its floor and its life were asked of the first configuration's voters, which need
    /// not meet a later configuration's quorums; it keeps learning as a non-voter, and is to be replaced by a new id.
    /// </summary>
    public string? RebuildRefusal { get; private set; }

    private void MaybeBecomeVoter()
    {
        if (_voterBallot is not Ballot ballot || (_commitIndex < _voterAfterSlot && (_options.Bugs & ProtocolBugs.VoteBeforeCatchUp) == 0))
        {
            return;
        }

        // The server refuses to start a rebuild once the membership has changed; a change chosen while this one ran is
        // known by now (the leader's phase 1 covered every slot chosen before it), and stops it here.
        if (LatestConfiguration.Revision > 0)
        {
            RebuildRefusal ??= $"replica {Id} lost its data and cannot vote again: the membership changed while it rebuilt (configuration revision " +
                $"{LatestConfiguration.Revision}), and the rebuild rules hold only in the first configuration. It keeps learning as a non-voter; " +
                $"replace it by a new id (synod member replace {Id} NEW=HOST:PORT).";
            return;
        }

        // VoterOp follows, in the same log, the chosen values just learned, so a restart keeps both or neither.
        _rebuilding = false;
        _rebuildFloor = null;
        _voterBallot = null;
        _promised = Ballot.Max(_promised, ballot);
        _ready.PersistOps.Add(new VoterOp(ballot));
    }

    private void OnReballot(Reballot reballot)
    {
        NoteBallot(reballot.Above);
        if (_role != ReplicaRole.Leader || _ballot > reballot.Above)
        {
            return;
        }

        if (_handoverTarget is not null)
        {
            // Not during a handover: its target stands at a ballot above this one, and should it not, the handover is
            // given up within an election timeout and the rebuilding replica asks again. Standing again now ended the
            // handover that was about to succeed, or (kept) held new commands in the next leadership until its give-up.
            return;
        }

        // Phase 1 again at a higher ballot; reads waiting on the old ballot's confirmation are retried by their clients.
        DropPendingReads();
        StartElection(reason: $"a peer asked for a ballot above {reballot.Above}");
    }
}
