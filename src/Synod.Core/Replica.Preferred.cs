namespace Synod.Core;

/// <summary>
/// The preferred leader (docs/protocol.md, "Preferred leader"). Elections favour the largest live id, but leadership is
/// sticky: a larger id that comes back follows the sitting leader. So a leader hands its leadership over (the direct
/// handover of Replica.Handover.cs: no election timeout, no failed request) to the preferred voter once that voter is
/// ready: live, heard without a gap of half an election timeout for the stability window, up (by its own heartbeats)
/// for as long, and within PreferredLeaderLagSlotsMax of this leader's commit index. A leader starts no such handover
/// in its first stability window as leader (a leader that was just handed leadership by a stopping or removed replica
/// does not hand it straight back) and at most one per window after that, so a replica that keeps crashing and
/// returning never leads and costs at most one handover per window; a handover that does not end in time is given up
/// as any other.
/// Like every election this is for liveness alone: ballots keep it safe.
/// </summary>
public sealed partial class Replica
{
    /// <summary>Per peer: the tick since which it has been heard with no gap of half an election timeout.</summary>
    private readonly Dictionary<int, long> _heardWithoutGapSince = [];

    /// <summary>Per peer: how long it has been up, in its own ticks, by its last heartbeat (0: not known; a build before this rule never says, and is never handed leadership by it).</summary>
    private readonly Dictionary<int, long> _peerUpTicks = [];

    private long _preferredHandoverTick = long.MinValue / 2;

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
        if (!_heardWithoutGapSince.ContainsKey(from) || _tick - _lastHeardTick.GetValueOrDefault(from, long.MinValue / 2) >= _options.ElectionTimeoutTicks / 2)
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
        PreferredLeaderWait =
            !skipsWindow && heardFor < stable ? $"stability window: heard without a gap for {heardFor} of {stable} ticks"
            : !skipsWindow && upFor < stable ? upFor == 0 ? "it has not said how long it has been up (no heartbeat from it yet, or a build before the preferred leader)" : $"stability window: up for {upFor} of {stable} ticks"
            : behind > _options.PreferredLeaderLagSlotsMax ? $"catching up: {behind} slots behind this leader's commit index (at most {_options.PreferredLeaderLagSlotsMax})"
            : !skipsWindow && _tick - _roleSinceTick < stable ? $"stability window: this replica has led for {_tick - _roleSinceTick} of {stable} ticks"
            : !skipsWindow && _tick - _preferredHandoverTick < stable ? $"stability window: this leader started a handover for the rule {_tick - _preferredHandoverTick} ticks ago (one per {stable})"
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
        PreferredHandovers++;
        PreferredLeaderWait = "handing over to it now";
    }

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
            if (member == Id || !CurrentConfiguration.IsVoter(member) || !LatestConfiguration.IsVoter(member) ||
                _tick - _lastHeardTick.GetValueOrDefault(member, long.MinValue / 2) >= _options.ElectionTimeoutTicks)
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
