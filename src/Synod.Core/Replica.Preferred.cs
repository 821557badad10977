namespace Synod.Core;

/// <summary>
/// The preferred leader (docs/protocol.md, "Preferred leader"). Elections favour the largest live id, but leadership is
/// sticky: a larger id that comes back follows the sitting leader. So a leader hands its leadership over (the direct
/// handover of Replica.Handover.cs: no election timeout, no failed request) to the preferred voter once that voter is
/// ready: live, heard without a gap of half an election timeout for the stability window, up (by its own heartbeats)
/// for as long, within PreferredLeaderLagSlotsMax of this leader's commit index, and saying in its heartbeats that it
/// may lead (<see cref="LeadReadiness.Ready"/>: a voter, not rebuilding, not stopping, hearing a quorum, and preferring
/// no other replica itself). A leader starts no such handover in its first stability window as leader (a leader that
/// was just handed leadership by a stopping or removed replica does not hand it straight back) and at most one per
/// window after that, so a replica that keeps crashing and returning never leads and costs at most one handover per
/// window; a handover that does not end in time is given up as any other, and each rule handover that did not leave
/// its target leading doubles the wait before the next one to that target (up to PreferredBackoffDoublingsMax times).
/// Like every election this is for liveness alone: ballots keep it safe.
/// </summary>
public sealed partial class Replica
{
    /// <summary>Per peer: the tick since which it has been heard with no gap of half an election timeout.</summary>
    private readonly Dictionary<int, long> _heardWithoutGapSince = [];

    /// <summary>Per peer: how long it has been up, in its own ticks, by its last heartbeat (0: not known; a build before this rule never says, and is never handed leadership by it).</summary>
    private readonly Dictionary<int, long> _peerUpTicks = [];

    /// <summary>Per peer: whether its last heartbeat said it may be handed leadership.</summary>
    private readonly Dictionary<int, LeadReadiness> _peerReadiness = [];

    /// <summary>Per peer: rule handovers to it in a row that did not leave it leading.</summary>
    private readonly Dictionary<int, int> _preferredFailures = [];

    /// <summary>Per peer: the tick this replica last started a rule handover to it.</summary>
    private readonly Dictionary<int, long> _preferredLastTickFor = [];

    /// <summary>The target of this replica's last rule handover, until the next leader is known (then counted as a success or a failure).</summary>
    private int? _preferredPendingTarget;

    /// <summary>The target of a rule handover this replica gave up, counted a failure, until the next leader is known: if that is the target after all (its TimeoutNow arrived, the answers did not), the failure is taken back.</summary>
    private int? _preferredGivenUpTarget;

    private long _preferredGivenUpTick;

    /// <summary>How many times the wait before a rule handover to a target doubles at most after handovers to it that failed (2^5 = 32 windows).</summary>
    private const int PreferredBackoffDoublingsMax = 5;

    private long _preferredHandoverTick = long.MinValue / 2;

    /// <summary>Set by the host when this replica begins to stop: its heartbeats say it is leaving, so no leader hands it leadership, and it stands on no TimeoutNow.</summary>
    public bool Departing { get; private set; }

    /// <summary>This replica is stopping: no leader should hand it leadership from now on (see <see cref="Departing"/>).</summary>
    public void Depart() => Departing = true;

    /// <summary>What peer <paramref name="id"/>'s last heartbeat said about being handed leadership (Unknown if none came).</summary>
    public LeadReadiness PeerReadiness(int id) => _peerReadiness.GetValueOrDefault(id);

    /// <summary>Rule handovers that did not leave their target leading, since this replica started.</summary>
    public long PreferredHandoversFailed { get; private set; }

    /// <summary>As leader: the voter this leader would hand over to under the preferred-leader rule, or null (none, itself, or not leading).</summary>
    public int? PreferredLeaderId
    {
        get => _role == ReplicaRole.Leader ? _preferredLeaderId : null;
        private set => _preferredLeaderId = value;
    }

    private int? _preferredLeaderId;
    private string? _preferredLeaderWait;

    /// <summary>As leader: why <see cref="PreferredLeaderId"/> does not lead yet (catching up, the stability window), or null.</summary>
    public string? PreferredLeaderWait
    {
        get => _role == ReplicaRole.Leader ? _preferredLeaderWait : null;
        private set => _preferredLeaderWait = value;
    }

    /// <summary>Handovers this replica started for the preferred-leader rule, since it started.</summary>
    public long PreferredHandovers { get; private set; }

    private void NoteHeard(int from)
    {
        if (!_heardWithoutGapSince.ContainsKey(from) || !HeardWithin(from, HearingGapTicks))
        {
            _heardWithoutGapSince[from] = _tick;
        }
    }

    /// <summary>As leader, each tick: hand over to the preferred voter once it is ready, or say why it is not.</summary>
    private void HandOverToPreferred()
    {
        PreferredLeaderId = null;
        PreferredLeaderWait = null;
        if (_role != ReplicaRole.Leader || PreferredTarget() is not int target)
        {
            return;
        }

        PreferredLeaderId = target;
        if (_handoverTarget is int under)
        {
            PreferredLeaderWait = under == target ? "handing over to it now" : $"a handover to replica {under} is under way";
            return;
        }

        var stable = _options.PreferredLeaderStableTicks;
        var skipsWindow = (_options.Bugs & ProtocolBugs.PreferredLeaderSkipsWindow) != 0;
        var heardFor = _tick - _heardWithoutGapSince.GetValueOrDefault(target, _tick);
        var upFor = _peerUpTicks.GetValueOrDefault(target);
        var behind = _commitIndex - _peerCommitIndex.GetValueOrDefault(target);
        var failures = _preferredFailures.GetValueOrDefault(target);
        var backoff = failures == 0 ? 0 : (long)stable << Math.Min(failures, PreferredBackoffDoublingsMax);
        var sinceToTarget = _tick - _preferredLastTickFor.GetValueOrDefault(target, long.MinValue / 2);
        var readiness = (_options.Bugs & ProtocolBugs.PreferredLeaderIgnoresReadiness) != 0 ? LeadReadiness.Ready : _peerReadiness.GetValueOrDefault(target);
        PreferredLeaderWait =
            !skipsWindow && heardFor < stable ? $"stability window: heard without a gap for {heardFor} of {stable} ticks"
            : !skipsWindow && upFor < stable ? upFor == 0 ? "it has not said how long it has been up (no heartbeat from it yet, or a build before the preferred leader)" : $"stability window: up for {upFor} of {stable} ticks"
            : behind > _options.PreferredLeaderLagSlotsMax ? $"catching up: {behind} slots behind this leader's commit index (at most {_options.PreferredLeaderLagSlotsMax})"
            : readiness != LeadReadiness.Ready ? $"it says it may not lead now: {Describe(readiness)}"
            : !skipsWindow && _tick - _roleSinceTick < stable ? $"stability window: this replica has led for {_tick - _roleSinceTick} of {stable} ticks"
            : !skipsWindow && _tick - _preferredHandoverTick < stable ? $"stability window: this leader started a handover for the rule {_tick - _preferredHandoverTick} ticks ago (one per {stable})"
            : !skipsWindow && sinceToTarget < backoff ? $"backing off: {failures} handover(s) to it in a row did not leave it leading; the last {sinceToTarget} of {backoff} ticks ago"
            : null;
        if (PreferredLeaderWait is not null)
        {
            return;
        }

        if (HandOver(target) is { } refused)
        {
            PreferredLeaderWait = refused;
            return;
        }

        _preferredHandoverTick = _tick;
        _preferredLastTickFor[target] = _tick;
        _preferredPendingTarget = target;
        _preferredGivenUpTarget = null; // an earlier give-up stays a failure: this handover is judged on its own
        PreferredHandovers++;
        PreferredLeaderWait = "handing over to it now";
    }

    /// <summary>
    /// Once a leader is known after a rule handover of this replica's (<paramref name="leader"/>; or the handover was
    /// given up: null): a handover that left its target leading clears the target's back-off, any other doubles it. A
    /// give-up counts as a failure at once, taken back if the target turns out to lead after all.
    /// </summary>
    private void NotePreferredOutcome(int? leader)
    {
        if (leader is int known && _preferredGivenUpTarget is int givenUp)
        {
            // Only a target that leads within a candidacy's time of the give-up won on this handover's TimeoutNow.
            _preferredGivenUpTarget = null;
            if (known == givenUp && _tick - _preferredGivenUpTick <= 2L * _options.ElectionTimeoutTicks)
            {
                _preferredFailures.Remove(givenUp);
                PreferredHandoversFailed--;
            }
        }

        if (_preferredPendingTarget is not int target)
        {
            return;
        }

        _preferredPendingTarget = null;
        if (leader == target)
        {
            _preferredFailures.Remove(target);
            return;
        }

        _preferredFailures[target] = _preferredFailures.GetValueOrDefault(target) + 1;
        PreferredHandoversFailed++;
        _preferredGivenUpTarget = leader is null ? target : null;
        _preferredGivenUpTick = _tick;
    }

    /// <summary>
    /// What this replica's heartbeats say about being handed leadership now. Why it may not lead (rebuilding, leaving,
    /// hearing no quorum) is said with any setting, so that a leader handing over for a graceful stop picks another
    /// target; Ready and PrefersAnother only under a preferred-leader rule (Unknown with none, so that no rule picks it).
    /// </summary>
    private LeadReadiness ReadinessToSay() =>
        MayNotLead() is { } why ? why
        : _options.PreferredLeader == ReplicaOptions.PreferNone ? LeadReadiness.Unknown
        : PreferredTarget() is not null ? LeadReadiness.PrefersAnother
        : LeadReadiness.Ready;

    /// <summary>Why this replica could not win an election now, or null: the reasons it says in heartbeats and refuses a TimeoutNow for.</summary>
    private LeadReadiness? MayNotLead() =>
        _rebuilding ? LeadReadiness.Rebuilding
        : Departing ? LeadReadiness.Stopping
        : !MayStand ? LeadReadiness.Leaving
        : !HearsQuorum() ? LeadReadiness.HearsNoQuorum
        : null;

    /// <summary>A gap in hearing a peer this long or longer restarts its stability window: half an election timeout, but never less than two heartbeat intervals and a tick (one late heartbeat is no gap).</summary>
    private int HearingGapTicks => Math.Max(_options.ElectionTimeoutTicks / 2, (2 * _options.HeartbeatIntervalTicks) + 1);

    /// <summary>
    /// Whether this replica heard, within an election timeout (as a leader judges its quorum, and every replica who is
    /// live), a quorum of voters of every configuration from its next slot on: itself counted, and each peer heard in
    /// this life that does not say it is stopping or rebuilding (neither will promise). A whole election timeout, not
    /// less: replicas whose timers run at different rates must not take each other's heartbeat intervals for gaps.
    /// </summary>
    private bool HearsQuorum()
    {
        // Reused: a readiness is said in every heartbeat, so this runs once per heartbeat interval.
        var heard = _heardScratch;
        heard.Clear();
        heard.Add(Id);
        foreach (var member in _members)
        {
            if (member != Id && _heardSinceStart.Contains(member) && HeardRecently(member) &&
                _peerReadiness.GetValueOrDefault(member) is not (LeadReadiness.Stopping or LeadReadiness.Rebuilding))
            {
                heard.Add(member);
            }
        }

        return IsQuorumFrom(_commitIndex + 1, heard);
    }

    private readonly List<int> _heardScratch = [];

    private static string Describe(LeadReadiness readiness) => readiness switch
    {
        LeadReadiness.Unknown => "it has not said (a build before this field, or no preferred-leader rule there)",
        LeadReadiness.Rebuilding => "it rebuilds after losing its disk",
        LeadReadiness.Leaving => "it is no voter of the configuration in effect and the latest one",
        LeadReadiness.Stopping => "it is stopping",
        LeadReadiness.HearsNoQuorum => "it does not hear a quorum of voters",
        LeadReadiness.PrefersAnother => "its own setting prefers another replica",
        LeadReadiness.Ready => "it is ready",
        _ => $"it says {(int)readiness}, which this build does not know",
    };

    /// <summary>The live voter that should lead instead of this one, or null: none configured, none live, or this replica.</summary>
    private int? PreferredTarget()
    {
        var preferred = _options.PreferredLeader;
        if (preferred == ReplicaOptions.PreferNone)
        {
            return null;
        }

        int? best = null;
        foreach (var member in _members)
        {
            if (member == Id || !CurrentConfiguration.IsVoter(member) || !LatestConfiguration.IsVoter(member) || !HeardRecently(member))
            {
                continue;
            }

            if (preferred == member || (preferred == ReplicaOptions.PreferLargestId && member > Id && member > (best ?? 0)))
            {
                best = member;
            }
        }

        return best;
    }
}
