using System.Buffers.Binary;
using System.Text;
using Synod.Core.Messages;

namespace Synod.Core;

/// <summary>
/// Membership (docs/protocol.md, "Membership"): which configuration governs each slot. A configuration command chosen in
/// slot s takes effect at slot s + α (<see cref="ReplicaOptions.ConfigurationDelaySlots"/>), so the configuration of
/// every slot up to commit + α is known from chosen slots alone, alike on every replica (I21). A leader proposes slot s
/// only once s lies within that window and a quorum of the configuration of s has promised its ballot (I22); votes
/// and acknowledgements are counted among that configuration's voters only, never its learners (I23).
/// </summary>
public sealed partial class Replica
{
    /// <summary>One configuration and the slots it governs: from <see cref="EffectiveFrom"/> until the next one's.</summary>
    public sealed record ConfigurationEpoch(long ChosenAt, long EffectiveFrom, Configuration Configuration);

    private static ReadOnlySpan<byte> EnvelopeMagic => "SYCF"u8;
    private const byte EnvelopeVersion = 1;

    private readonly List<ConfigurationEpoch> _epochs = [];

    /// <summary>The ids of every configuration in effect at commit + 1 or later, in id order: whom the core talks to.</summary>
    private int[] _members = [];

    private long _membersComputedAt = -1;

    /// <summary>The options the peer message rules check with: every id any configuration held is a member's.</summary>
    private ReplicaOptions _rulesOptions = null!;

    /// <summary>Configuration changes chosen since the last Ready (accepted or refused), for the shell to answer its waiters.</summary>
    private readonly List<ConfigurationOutcome> _configurationOutcomes = [];

    private bool SmallQuorumBug => (_options.Bugs & ProtocolBugs.SmallQuorum) != 0;

    private bool LearnersVoteBug => (_options.Bugs & ProtocolBugs.LearnerVotes) != 0;

    /// <summary>The configuration in effect for the next slot to be chosen (commit + 1).</summary>
    public Configuration CurrentConfiguration => ConfigurationAt(_commitIndex + 1);

    /// <summary>The latest configuration chosen, in effect or not yet.</summary>
    public Configuration LatestConfiguration => _epochs[^1].Configuration;

    /// <summary>The slot from which <see cref="LatestConfiguration"/> governs.</summary>
    public long LatestConfigurationFrom => _epochs[^1].EffectiveFrom;

    /// <summary>Every configuration this replica knows for slots after its snapshot, oldest first.</summary>
    public IReadOnlyList<ConfigurationEpoch> ConfigurationEpochs => _epochs;

    /// <summary>
    /// This replica is in no configuration from commit + 1 on, though the cluster has used its id: it was removed and
    /// every slot it still had to vote in is chosen. It stands for nothing more; the shell stops it. (A replica that
    /// joins knows only older configurations until it has caught up: their ids all lie below its own.)
    /// </summary>
    public bool Removed => Id <= LatestConfiguration.IdMax && !CurrentConfiguration.Contains(Id) &&
        _epochs.TrueForAll(e => e.EffectiveFrom <= _commitIndex + 1 || !e.Configuration.Contains(Id));

    /// <summary>When each peer last acknowledged this replica's leadership (a heartbeat answer or an acceptance), really: unlike
    /// the liveness clock, a new leader or a new member does not start out as heard.</summary>
    private readonly Dictionary<int, long> _heardAckTick = [];

    /// <summary>As leader: the replicas that acknowledged this leadership within the election timeout (itself included).</summary>
    public IReadOnlyList<int> AcknowledgingMembers() =>
        _role != ReplicaRole.Leader ? [] : [.. _members.Where(m => m == Id || (_heardAckTick.TryGetValue(m, out var at) && at >= _roleSinceTick && _tick - at < _options.ElectionTimeoutTicks))];

    /// <summary>Whom this replica talks to now: the members of every configuration from commit + 1 on, and removed replicas not yet told they are.</summary>
    public IReadOnlyList<int> PeerIds => _members;

    /// <summary>What this replica heard a peer report as its commit index (its lag, seen from here); 0 if never.</summary>
    public long PeerCommitIndex(int id) => id == Id ? _commitIndex : _peerCommitIndex.GetValueOrDefault(id);

    public Configuration ConfigurationAt(long slot)
    {
        for (var i = _epochs.Count - 1; i >= 0; i--)
        {
            if (_epochs[i].EffectiveFrom <= slot)
            {
                return _epochs[i].Configuration;
            }
        }

        return _epochs[0].Configuration;
    }

    private long EpochStartAt(long slot)
    {
        for (var i = _epochs.Count - 1; i >= 0; i--)
        {
            if (_epochs[i].EffectiveFrom <= slot)
            {
                return _epochs[i].EffectiveFrom;
            }
        }

        return _epochs[0].EffectiveFrom;
    }

    private void InitConfigurations()
    {
        _epochs.Clear();
        _epochs.Add(new ConfigurationEpoch(0, 1, Configuration.Initial(_options.Members)));
        RefreshMembers();
    }

    /// <summary>Whether <paramref name="ids"/> hold a quorum of the configuration of <paramref name="slot"/>.</summary>
    private bool IsQuorumAt(long slot, IEnumerable<int> ids) => ConfigurationAt(slot).IsQuorum(ids, SmallQuorumBug, LearnersVoteBug);

    /// <summary>
    /// Whether <paramref name="ids"/> hold a quorum of every configuration known to govern a slot from
    /// <paramref name="fromSlot"/> on: a candidacy, and a read round, must intersect whatever a rival could have used.
    /// </summary>
    private bool IsQuorumFrom(long fromSlot, IEnumerable<int> ids)
    {
        var set = ids as IReadOnlyCollection<int> ?? [.. ids];
        if (!IsQuorumAt(fromSlot, set))
        {
            return false;
        }

        foreach (var epoch in _epochs)
        {
            if (epoch.EffectiveFrom > fromSlot && !epoch.Configuration.IsQuorum(set, SmallQuorumBug, LearnersVoteBug))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The ids a quorum of the current configuration needs, for messages.</summary>
    private int CurrentQuorumSize => CurrentConfiguration.QuorumSize(SmallQuorumBug);

    /// <summary>
    /// Replicas removed by a configuration now in effect, with the last slot each had to vote in: they are still told
    /// the commit index until they report it that far, so that they learn they were removed and stop.
    /// </summary>
    private readonly Dictionary<int, long> _leaving = [];

    /// <summary>Recomputes whom to talk to once the commit index or the configurations changed.</summary>
    private void RefreshMembers()
    {
        var ids = new SortedSet<int> { Id };
        var from = EpochStartAt(_commitIndex + 1);
        for (var i = 0; i < _epochs.Count; i++)
        {
            var epoch = _epochs[i];
            if (epoch.EffectiveFrom >= from)
            {
                ids.UnionWith(epoch.Configuration.Members.Select(m => m.Id));
            }
            else if (i + 1 < _epochs.Count && _epochs[i + 1].EffectiveFrom <= from)
            {
                // The last slot a member of a past configuration voted in is the last slot of the latest past one that held it.
                foreach (var member in epoch.Configuration.Members)
                {
                    _leaving[member.Id] = Math.Max(_leaving.GetValueOrDefault(member.Id), _epochs[i + 1].EffectiveFrom - 1);
                }
            }
        }

        foreach (var (id, lastOwed) in _leaving.ToList())
        {
            if (ids.Contains(id) || _peerCommitIndex.GetValueOrDefault(id) >= lastOwed || id == Id)
            {
                _leaving.Remove(id);
            }
            else
            {
                ids.Add(id);
            }
        }

        // The same array while the ids stay the same: the shell follows PeerIds by reference.
        if (!ids.SequenceEqual(_members))
        {
            _members = [.. ids];
        }

        foreach (var member in _members)
        {
            _lastHeardTick.TryAdd(member, 0);
            _peerCommitIndex.TryAdd(member, 0);
            _lastAckTick.TryAdd(member, _tick);
        }

        _membersComputedAt = _commitIndex;
        // V1, V2: any replica id may be a member's. Membership changes, and a replica that lags cannot know the newest
        // members (nor the ballots they lead at) until it has caught up from a peer whose heartbeats name them; which
        // processes are replicas of this cluster at all is the peer links' to decide (certificates, cluster id).
        if (_rulesOptions.MemberIdMax != Configuration.ReplicaIdMax)
        {
            _rulesOptions = _options with { MemberIdMax = Configuration.ReplicaIdMax };
        }
    }

    /// <summary>Takes up the configuration commands of a slot just learned chosen, in slot order (I21).</summary>
    private void OnSlotCommitted(long slot, byte[][] commands)
    {
        foreach (var command in commands)
        {
            if (!ConfigurationCommand.IsConfiguration(command))
            {
                continue;
            }

            if ((_options.Bugs & ProtocolBugs.ConfigurationAtOnce) != 0 && _epochs.Exists(e => e.ChosenAt == slot))
            {
                continue;
            }

            var latest = _epochs[^1];
            var change = ConfigurationCommand.Decode(command, out var problem);
            var refusal = change is null ? problem : change.Refusal(latest.Configuration, pending: latest.EffectiveFrom > slot);
            if (change is null || refusal is not null)
            {
                _configurationOutcomes.Add(new ConfigurationOutcome(change?.RequestId ?? 0, slot, null, refusal));
                continue;
            }

            var delay = (_options.Bugs & ProtocolBugs.ConfigurationAtOnce) != 0 ? 1 : ReplicaOptions.ConfigurationDelaySlots;
            var next = new Configuration(latest.Configuration.Revision + 1, change.Members, latest.Configuration.IdMax);
            _epochs.Add(new ConfigurationEpoch(slot, slot + delay, next));
            _configurationOutcomes.Add(new ConfigurationOutcome(change.RequestId, slot, next, null));
        }
    }

    /// <summary>Drops configurations no slot after <paramref name="slot"/> can need (all but the one in effect at slot + 1 and later ones).</summary>
    private void ForgetConfigurationsThrough(long slot)
    {
        var keepFrom = EpochStartAt(slot + 1);
        _epochs.RemoveAll(e => e.EffectiveFrom < keepFrom);
    }

    /// <summary>The snapshot as stored and sent: the configurations that govern the slots after it, then the shell's bytes.</summary>
    private byte[] WrapSnapshot(long slot, ReadOnlySpan<byte> data)
    {
        var envelope = SnapshotEnvelope(slot);
        var wrapped = new byte[envelope.Length + data.Length];
        envelope.CopyTo(wrapped, 0);
        data.CopyTo(wrapped.AsSpan(envelope.Length));
        return wrapped;
    }

    /// <summary>
    /// The bytes a stored snapshot of <paramref name="slot"/> starts with: the configurations that govern the slots
    /// after it. A shell that serialises its state behind them (<see cref="CompactEnveloped"/>) saves the core a copy
    /// of the whole state. It depends only on configurations chosen at or before the slot, so it is the same when
    /// asked for while the slot is the last applied as when the snapshot is handed back later.
    /// </summary>
    public byte[] SnapshotEnvelope(long slot)
    {
        var keepFrom = EpochStartAt(slot + 1);
        var epochs = _epochs.Where(e => e.EffectiveFrom >= keepFrom && e.ChosenAt <= slot).ToList();
        var header = new List<byte>(64);
        header.AddRange(EnvelopeMagic);
        header.Add(EnvelopeVersion);
        header.Add((byte)epochs.Count);
        Span<byte> number = stackalloc byte[8];
        foreach (var epoch in epochs)
        {
            BinaryPrimitives.WriteInt64LittleEndian(number, epoch.ChosenAt);
            header.AddRange(number);
            BinaryPrimitives.WriteInt64LittleEndian(number, epoch.EffectiveFrom);
            header.AddRange(number);
            // The member list in a configuration command's encoding; its request id carries IdMax, its expected revision the revision.
            var members = new ConfigurationCommand(epoch.Configuration.IdMax, epoch.Configuration.Revision, epoch.Configuration.Members).Encode();
            BinaryPrimitives.WriteInt32LittleEndian(number, members.Length);
            header.AddRange(number[..4]);
            header.AddRange(members);
        }

        return [.. header];
    }

    /// <summary>
    /// The shell's bytes of a stored snapshot, after its configuration header if it has one (the whole of a snapshot
    /// from before membership changes): for a check the host makes before the replica starts. Empty if the header is
    /// cut short; everything else about it is checked when the replica reads it (UnwrapSnapshot).
    /// </summary>
    public static ReadOnlySpan<byte> SnapshotShellBytes(ReadOnlySpan<byte> stored)
    {
        if (!stored.StartsWith(EnvelopeMagic))
        {
            return stored;
        }

        if (stored.Length < 6)
        {
            return null;
        }

        var at = 6;
        for (var i = 0; i < stored[5]; i++)
        {
            if (at + 20 > stored.Length)
            {
                return null;
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(stored[(at + 16)..]);
            if (length < 0 || at + 20 + (long)length > stored.Length)
            {
                return null;
            }

            at += 20 + length;
        }

        return stored[at..];
    }

    /// <summary>
    /// <see cref="SnapshotShellBytes"/> as memory: the slice of <paramref name="stored"/> that the replica hands its shell
    /// when it restores from it (empty if the header is cut short).
    /// </summary>
    public static ReadOnlyMemory<byte> SnapshotShell(ReadOnlyMemory<byte> stored) =>
        stored[(stored.Length - SnapshotShellBytes(stored.Span).Length)..];

    /// <summary>
    /// Reads a stored or received snapshot: its configurations (a snapshot from before membership changes has none, and
    /// the cluster's first configuration governs) and the shell's bytes. Null with <paramref name="problem"/> if malformed.
    /// </summary>
    private (List<ConfigurationEpoch> Epochs, ReadOnlyMemory<byte> Data)? UnwrapSnapshot(ReadOnlyMemory<byte> stored, out string? problem)
    {
        problem = null;
        var wrapped = stored.Span;
        if (!wrapped.StartsWith(EnvelopeMagic))
        {
            return ([new ConfigurationEpoch(0, 1, Configuration.Initial(_options.Members))], stored);
        }

        if (wrapped.Length < 6 || wrapped[4] != EnvelopeVersion || wrapped[5] is 0 or > 16)
        {
            problem = "a snapshot whose configuration header is malformed (version or count)";
            return null;
        }

        var epochs = new List<ConfigurationEpoch>();
        var at = 6;
        for (var i = 0; i < wrapped[5]; i++)
        {
            if (at + 20 > wrapped.Length)
            {
                problem = "a snapshot whose configuration header is cut short";
                return null;
            }

            var chosenAt = BinaryPrimitives.ReadInt64LittleEndian(wrapped[at..]);
            var from = BinaryPrimitives.ReadInt64LittleEndian(wrapped[(at + 8)..]);
            var length = BinaryPrimitives.ReadInt32LittleEndian(wrapped[(at + 16)..]);
            if (length < 0 || at + 20 + (long)length > wrapped.Length || chosenAt < 0 || from < 1 || (epochs.Count > 0 && from <= epochs[^1].EffectiveFrom))
            {
                problem = "a snapshot whose configuration header holds a malformed configuration";
                return null;
            }

            var members = ConfigurationCommand.Decode(wrapped.Slice(at + 20, length).ToArray(), out var memberProblem);
            // A peer's snapshot is checked as a change in the log is: a damaged one must not make this replica count
            // quorums of a configuration no replica chose.
            if (members is null || members.Members.Count == 0 || members.Members.Count > ReplicaOptions.ReplicasMax || !members.Members.Any(m => m.Voter) ||
                members.Members.Any(m => m.Id < 1 || m.Id > members.RequestId) || members.Members.Select(m => m.Id).Distinct().Count() != members.Members.Count ||
                members.RequestId is < 1 or > Configuration.ReplicaIdMax || members.ExpectedRevision < 0 || chosenAt >= from ||
                (epochs.Count > 0 && members.ExpectedRevision <= epochs[^1].Configuration.Revision))
            {
                problem = $"a snapshot whose configuration header holds a malformed configuration ({memberProblem ?? "members, ids, revision or slots out of their bounds"})";
                return null;
            }

            epochs.Add(new ConfigurationEpoch(chosenAt, from, new Configuration(members.ExpectedRevision, members.Members, (int)members.RequestId)));
            at += 20 + length;
        }

        return (epochs, stored[at..]);
    }

    /// <summary>Installs the configurations a snapshot carries (they replace what this replica knew for later slots).</summary>
    private void AdoptSnapshotConfigurations(List<ConfigurationEpoch> epochs)
    {
        _epochs.Clear();
        _epochs.AddRange(epochs);
        RefreshMembers();
    }

    /// <summary>As leader: the replicas that promised this leadership's ballot (its own phase 1, and any asked since).</summary>
    private readonly HashSet<int> _phase1Promisers = [];

    /// <summary>As leader: the first slot of a configuration whose quorum has not all promised yet (0: none asked).</summary>
    private long _latePrepareFromSlot;

    private long _latePrepareSentTick = long.MinValue / 2;

    /// <summary>
    /// As leader: what phase 1 (and any late promises) reported for slots not proposed again yet, the highest-ballot
    /// value of each; every slot up to <see cref="_recoveryEnd"/> is proposed again before any new command.
    /// </summary>
    private readonly Dictionary<long, PromisedEntry> _recovered = [];

    private long _recoveryEnd;

    /// <summary>
    /// As leader: the last slot its phase 1 covers (values and gaps to recover); until its commit index reaches it, slots
    /// below may be chosen that this leader has not applied (the write quota counts them as lag). 0 when not leading.
    /// </summary>
    public long RecoveryEnd => _role == ReplicaRole.Leader ? _recoveryEnd : 0;

    /// <summary>Proposes the recovered slots again, in order, as far as the configuration is known and promised (I22).</summary>
    private void ProposeRecovered()
    {
        while (_role == ReplicaRole.Leader && _nextSlot <= _recoveryEnd && _inFlight.Count < _options.PipelineSlotsMax && MayProposeAt(_nextSlot))
        {
            var slot = _nextSlot++;
            var reported = _recovered.Remove(slot, out var value);
            if (_log.TryGetValue(slot, out var known) && known.Chosen)
            {
                continue;
            }

            ProposeSlot(slot, reported ? value.Commands : []);
        }
    }

    /// <summary>How far beyond its commit index a leader proposes: no further than it knows the configuration (α) or acceptors take (V5).</summary>
    private int ProposalWindow => Math.Min(_options.SlotsBeyondCommitMax, ReplicaOptions.ConfigurationDelaySlots);

    /// <summary>Only a voter of the configuration in effect, and of the latest one, stands for election.</summary>
    private bool MayStand => CurrentConfiguration.IsVoter(Id) && LatestConfiguration.IsVoter(Id);

    /// <summary>I22: a leader proposes slot s only once the configuration of s is known and a quorum of it promised its ballot.</summary>
    private bool MayProposeAt(long slot) =>
        slot - _commitIndex <= ProposalWindow &&
        ((_options.Bugs & ProtocolBugs.SkipPhase1) != 0 || IsQuorumAt(slot, _phase1Promisers));

    /// <summary>
    /// I24: a leader starts read rounds only once everything its phase 1 (and any late promises) reported is chosen and
    /// a quorum of every configuration it knows from commit + 1 on has promised its ballot. Until then a write chosen at
    /// a lower ballot in a configuration this leader has not learned yet may lie above any index it could give: its
    /// commit index lagged, and the configurations that chose the write only become known as it advances.
    /// </summary>
    private bool EstablishedForReads =>
        (_options.Bugs & (ProtocolBugs.SkipPhase1 | ProtocolBugs.ReadsBeforeEstablished)) != 0 ||
        (_commitIndex >= _recoveryEnd && _nextSlot > _recoveryEnd && IsQuorumFrom(_commitIndex + 1, _phase1Promisers));

    /// <summary>
    /// As leader: asks the voters of the first configuration known from commit + 1 on whose quorum has not promised this
    /// ballot (a voter joined, or one whose promise counted left) to promise it from the slot that configuration takes
    /// effect. Needed before proposing there (I22), and before confirming reads (I24).
    /// </summary>
    private void AskLatePromisesIfBlocked()
    {
        long from;
        if (_nextSlot - _commitIndex <= ProposalWindow && !MayProposeAt(_nextSlot))
        {
            from = EpochStartAt(_nextSlot);
        }
        else if (_epochs.Find(e => e.EffectiveFrom > _commitIndex && !e.Configuration.IsQuorum(_phase1Promisers, SmallQuorumBug, LearnersVoteBug)) is { } unpromised &&
            (_options.Bugs & ProtocolBugs.SkipPhase1) == 0)
        {
            from = unpromised.EffectiveFrom;
        }
        else
        {
            return;
        }

        if (_latePrepareFromSlot != from)
        {
            _latePrepareFromSlot = from;
            _latePrepareSentTick = long.MinValue / 2;
        }

        if (_tick - _latePrepareSentTick < _options.RetransmitTicks)
        {
            return;
        }

        _latePrepareSentTick = _tick;
        foreach (var voter in ConfigurationAt(from).Voters)
        {
            if (!_phase1Promisers.Contains(voter))
            {
                Send(new Prepare(Id, voter, _ballot, from));
            }
        }
    }

    /// <summary>
    /// A promise to this leadership's ballot for a configuration that takes effect later. Once a quorum of it promised,
    /// the values they reported from its first slot on are proposed again before any new command, as in phase 1.
    /// </summary>
    private void OnLatePromise(Promise promise)
    {
        if (_latePrepareFromSlot == 0 || promise.FromSlot != _latePrepareFromSlot)
        {
            return;
        }

        if (promise.SnapshotSlot >= promise.FromSlot || promise.Truncated)
        {
            BecomeFollower($"replica {promise.From}'s promise from slot {promise.FromSlot} reports slots this leader cannot fill; catching up first");
            RequestCatchUp(promise.From);
            return;
        }

        _phase1Promisers.Add(promise.From);
        foreach (var entry in promise.Entries)
        {
            if (entry.Slot >= _nextSlot && (!_recovered.TryGetValue(entry.Slot, out var best) || Outranks(entry, best)))
            {
                _recovered[entry.Slot] = entry;
                _recoveryEnd = Math.Max(_recoveryEnd, entry.Slot);
            }
        }

        if (IsQuorumAt(_latePrepareFromSlot, _phase1Promisers))
        {
            _latePrepareFromSlot = 0;
            ProposeRecovered();
        }
    }

    /// <summary>
    /// A leader with nothing to propose while a chosen configuration waits to take effect fills the slots up to it with
    /// no-ops, so that a change on an idle cluster takes effect at once rather than after α more writes. Not while it
    /// hands over: a handover waits until the target knows every slot this leader proposed chosen, and a fill proposing
    /// one no-op after another kept the leader a slot ahead until the handover was given up (simulator seed 754, found
    /// when snapshot timing moved; the new leader fills the rest, and a handover given up lets the fill go on).
    /// </summary>
    private void FillTowardsPendingConfiguration()
    {
        if (_role != ReplicaRole.Leader || _handoverTarget is not null || _proposals.Count > 0 || LatestConfigurationFrom <= _commitIndex + 1 || _nextSlot <= _recoveryEnd)
        {
            return;
        }

        // No-ops are unfilled slots: as few in flight as a lone command (UnfilledSlotsInFlightMax), so that they never
        // crowd the followers' disks with a pipeline of writes.
        while (_nextSlot < LatestConfigurationFrom && _inFlight.Count < _options.UnfilledSlotsInFlightMax && MayProposeAt(_nextSlot))
        {
            ProposeSlot(_nextSlot++, []);
        }
    }

    /// <summary>The bug <see cref="ProtocolBugs.ConfigurationAtOnce"/>: a leader takes up a configuration as it proposes it.</summary>
    private void TakeUpAtOnce(long slot, byte[][] commands)
    {
        foreach (var command in commands)
        {
            if (ConfigurationCommand.IsConfiguration(command) && ConfigurationCommand.Decode(command, out _) is { } change &&
                change.Refusal(LatestConfiguration, pending: false) is null && !_epochs.Exists(e => e.ChosenAt == slot))
            {
                _epochs.Add(new ConfigurationEpoch(slot, slot + 1, new Configuration(LatestConfiguration.Revision + 1, change.Members, LatestConfiguration.IdMax)));
                RefreshMembers();
            }
        }
    }
}

/// <summary>A configuration command chosen in <paramref name="Slot"/>: the configuration it made, or why it changed nothing.</summary>
public sealed record ConfigurationOutcome(long RequestId, long Slot, Configuration? Configuration, string? Refusal);
