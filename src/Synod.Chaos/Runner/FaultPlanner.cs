namespace Synod.Chaos;

/// <summary>
/// The seeded fault schedule. Early in a run it injects each enabled kind once, so even a short run has killed,
/// restarted, wiped, paused, partitioned, replaced and resized something. Afterwards it picks kinds and victims at
/// random, keeping the voters out of action at most N - quorum of every voter set that may govern (a minority: the
/// cluster must keep serving), and now and then, when nothing else is wrong, takes out a majority for a few seconds
/// (the cluster must then refuse writes, never lie, and recover when the majority returns). A wipe is only planned
/// while no more than N - quorum replicas would be rebuilding, or the cluster could never recover (docs/protocol.md,
/// I14); once the membership has changed a wiped voter is replaced instead, so a wipe then needs a spare id. One
/// membership change runs at a time, and none while a replica rebuilds (docs/protocol.md, "Membership").
/// </summary>
public sealed class FaultPlanner
{
    /// <summary>Share of partitions that drop traffic one way only.</summary>
    private const double OneWayShare = 0.3;

    /// <summary>Seconds into the run before the first majority fault, unless half the run comes earlier.</summary>
    private const double FirstMajoritySecondsMin = 10;

    /// <summary>Seconds between majority faults: rare, because the cluster serves nothing meanwhile.</summary>
    private const double MajorityGapSecondsMin = 15;

    private const double MajorityGapSecondsMax = 25;

    /// <summary>How long a due majority fault waits for the cluster to be whole before it skips its turn.</summary>
    private const double MajorityWaitSecondsMax = 6;

    // How long each fault lasts, in seconds (docs/chaos.md lists them): long enough for an election or a failover
    // to happen inside it, short enough that a short run sees many.
    private const double KillOrPauseSecondsMin = 0.5;
    private const double KillOrPauseSecondsMax = 3;
    private const double WipeRestartSecondsMin = 0.3;
    private const double WipeRestartSecondsMax = 1.5;
    private const double PartitionSecondsMin = 1;
    private const double PartitionSecondsMax = 4;
    private const double LossSecondsMin = 2;
    private const double LossSecondsMax = 6;

    /// <summary>The share of packets a loss drops, in percent, each way: enough for retransmits and late messages, not a partition.</summary>
    private const int LossPercentMin = 5;
    private const int LossPercentMax = 40;
    private const double DelaySecondsMin = 2;
    private const double DelaySecondsMax = 6;

    /// <summary>How long a delay holds each packet, each way, in ms: from a distant host to one slower than the election timeout's share.</summary>
    private const int DelayMsMin = 5;
    private const int DelayMsMax = 50;
    private const double MajorityKillOrPauseSecondsMin = 1.5;
    private const double MajorityKillOrPauseSecondsMax = 3.5;
    private const double MajorityPartitionSecondsMin = 1.5;
    private const double MajorityPartitionSecondsMax = 3;

    /// <summary>Seconds between faults: spaced while forcing, so each forced fault's recovery shows on its own.</summary>
    private const double ForcedGapSecondsMin = 1.5;
    private const double ForcedGapSecondsMax = 2.5;
    private const double GapSecondsMin = 0.5;
    private const double GapSecondsMax = 2.5;

    private readonly int _replicas;
    private readonly IReadOnlySet<FaultKind> _enabled;
    private readonly Random _random;
    private readonly Queue<FaultKind> _forced;
    private readonly FaultKind[] _minorityKinds;
    private readonly FaultKind[] _majorityKinds;
    private double _nextMajorityAt;

    /// <summary>Whether the next resize grows the voters (else it shrinks them back).</summary>
    private bool _grows;

    public FaultPlanner(int replicas, IReadOnlySet<FaultKind> enabled, int seed, double runStart, TimeSpan duration)
    {
        _replicas = replicas;
        _enabled = enabled;
        _random = new Random(seed);
        // With the membership faults the wipe comes after the first replace, so that it shows a wiped voter replaced.
        FaultKind[] forced = enabled.Contains(FaultKind.Replace)
            ? [FaultKind.Kill, FaultKind.Pause, FaultKind.Partition, FaultKind.Loss, FaultKind.Delay, FaultKind.Replace, FaultKind.Wipe, FaultKind.Resize]
            : [FaultKind.Kill, FaultKind.Pause, FaultKind.Partition, FaultKind.Loss, FaultKind.Delay, FaultKind.Wipe, FaultKind.Resize];
        _forced = new Queue<FaultKind>(forced.Where(enabled.Contains));
        _minorityKinds = [.. FaultKinds.All.Where(k => k != FaultKind.Restart && enabled.Contains(k))];

        // A killed majority must come back, so a majority kill needs restarts.
        _majorityKinds = [.. _minorityKinds.Where(k => k is FaultKind.Pause or FaultKind.Partition || (k == FaultKind.Kill && enabled.Contains(FaultKind.Restart)))];
        _grows = true;
        _nextMajorityAt = runStart + Math.Max(FirstMajoritySecondsMin, duration.TotalSeconds / 2);
    }

    public int Quorum => (_replicas / 2) + 1;

    /// <summary>How many replicas may be out of action while the rest still form a quorum.</summary>
    public int Tolerated => _replicas - Quorum;

    /// <summary>True while kinds forced early in the run are still to come.</summary>
    public bool Forcing => _forced.Count > 0;

    /// <summary>The next fault, or null when none fits now (too many replicas already out of action).</summary>
    public FaultPlan? Next(FaultPicture picture)
    {
        if (_forced.Count > 0)
        {
            var forced = Minority(_forced.Peek(), picture);
            if (forced is not null)
            {
                _forced.Dequeue();
            }

            return forced;
        }

        if (picture.Now >= _nextMajorityAt && _majorityKinds.Length > 0)
        {
            // A majority fault waits for the cluster to be whole, so that it, and not an earlier fault, is what
            // stops the writes; no new minority fault starts meanwhile. Faults that do not end on their own (kills
            // without restarts) would make it wait forever, so it waits a bounded time and then skips its turn.
            if (picture.Impaired == 0 && !picture.PartitionActive)
            {
                _nextMajorityAt = picture.Now + Between(MajorityGapSecondsMin, MajorityGapSecondsMax);
                return Majority(_majorityKinds[_random.Next(_majorityKinds.Length)], picture);
            }

            if (picture.Now < _nextMajorityAt + MajorityWaitSecondsMax)
            {
                return null;
            }

            _nextMajorityAt = picture.Now + Between(MajorityGapSecondsMin, MajorityGapSecondsMax);
        }

        return _minorityKinds.Length == 0 ? null : Minority(_minorityKinds[_random.Next(_minorityKinds.Length)], picture);
    }

    /// <summary>Seconds until the next fault.</summary>
    public double GapSeconds() => Forcing ? Between(ForcedGapSecondsMin, ForcedGapSecondsMax) : Between(GapSecondsMin, GapSecondsMax);

    /// <summary>The voter sets that may govern: the picture's, or replicas 1 to N.</summary>
    private IReadOnlyList<IReadOnlyList<int>> VoterSets(FaultPicture picture) => picture.VoterSets ?? [Enumerable.Range(1, _replicas).ToList()];

    /// <summary>How many more healthy voters may be taken out while every voter set keeps a healthy quorum.</summary>
    private int Budget(FaultPicture picture) =>
        picture.VoterSets is { } sets
            ? sets.Min(set => set.Count(picture.Healthy.Contains) - FaultPicture.Quorum(set.Count))
            : Math.Min(Tolerated - picture.Impaired, picture.Healthy.Count);

    /// <summary>Healthy voters of any set that may govern: the victims of kills, pauses and wipes.</summary>
    private List<int> HealthyVoters(FaultPicture picture) =>
        [.. picture.Healthy.Where(id => VoterSets(picture).Any(set => set.Contains(id))).Order()];

    private FaultPlan? Minority(FaultKind kind, FaultPicture picture)
    {
        if (FaultKinds.Membership.Contains(kind))
        {
            return Membership(kind, picture);
        }

        var budget = Math.Min(Budget(picture), HealthyVoters(picture).Count);
        if (budget < 1 || (kind is FaultKind.Partition or FaultKind.Loss or FaultKind.Delay && picture.PartitionActive))
        {
            return null;
        }

        // More than N - quorum replicas rebuilding at once could never recover (docs/protocol.md, I14). Rebuilding
        // replicas are also impaired, so the budget above implies this; it is spelled out because it is a rule of
        // the protocol, not of this schedule. Once the membership has changed the victim is replaced, not rebuilt: that
        // is a membership change, one at a time and with a spare id; nor does a rebuild start while a change is under way.
        if (kind == FaultKind.Wipe && (picture.Rebuilding + 1 > Tolerated || picture.MembershipBusy ||
            (picture.MembershipChanged && picture.SpareIds < 1)))
        {
            return null;
        }

        // A forced fault takes one victim, and the wipe (whose victim stays impaired until it has rebuilt, long on a slow
        // machine) is forced last, so that each forced kind finds budget early; random faults take up to the whole budget.
        var count = kind == FaultKind.Wipe || Forcing ? 1 : 1 + _random.Next(budget);
        var victims = Pick(HealthyVoters(picture), count);
        switch (kind)
        {
            case FaultKind.Kill:
            case FaultKind.Pause:
                return new FaultPlan(kind, victims, false, [.. victims.Select(_ => Between(KillOrPauseSecondsMin, KillOrPauseSecondsMax))]);
            case FaultKind.Wipe:
                return new FaultPlan(kind, victims, false, [Between(WipeRestartSecondsMin, WipeRestartSecondsMax)]);
            case FaultKind.Delay:
                return new FaultPlan(kind, victims, false, [Between(DelaySecondsMin, DelaySecondsMax)], DelayMs: _random.Next(DelayMsMin, DelayMsMax + 1));
            case FaultKind.Loss:
                return new FaultPlan(kind, victims, false, [Between(LossSecondsMin, LossSecondsMax)], LossPercent: _random.Next(LossPercentMin, LossPercentMax + 1));
            default:
                var rest = (picture.Members ?? Enumerable.Range(1, _replicas).ToList()).Except(victims).ToList();
                var oneWay = _random.NextDouble() < OneWayShare;
                var groups = oneWay && _random.Next(2) == 0 ? new List<IReadOnlyList<int>> { rest, victims } : [victims, rest];
                return new FaultPlan(kind, victims, false, [Between(PartitionSecondsMin, PartitionSecondsMax)], oneWay, groups);
        }
    }

    private FaultPlan Majority(FaultKind kind, FaultPicture picture)
    {
        var latest = VoterSets(picture)[^1];
        var quorum = FaultPicture.Quorum(latest.Count);
        if (kind == FaultKind.Partition)
        {
            // Groups of at most quorum - 1 of the smallest voter set: no side can choose anything until the cut heals.
            var smallest = VoterSets(picture).Min(set => FaultPicture.Quorum(set.Count));
            var shuffled = Shuffle(picture.Members ?? Enumerable.Range(1, _replicas).ToList());
            var groups = shuffled.Chunk(Math.Max(1, smallest - 1)).Select(g => (IReadOnlyList<int>)[.. g.Order()]).ToList();
            return new FaultPlan(kind, [.. shuffled.Order()], true, [Between(MajorityPartitionSecondsMin, MajorityPartitionSecondsMax)], false, groups);
        }

        var healthy = picture.Healthy.Where(latest.Contains).ToList();
        var victims = Pick(healthy, Math.Min(quorum, healthy.Count));
        return new FaultPlan(kind, victims, true, [.. victims.Select(_ => Between(MajorityKillOrPauseSecondsMin, MajorityKillOrPauseSecondsMax))]);
    }

    /// <summary>
    /// A replace (of a healthy voter, by a spare id) or a resize (grow by two spare ids up to <see cref="ChaosOptions.ReplicasMax"/>,
    /// or shrink back by two voters, the leader perhaps among them): only when no change is under way, no replica rebuilds,
    /// every voter set has a healthy quorum, and the spare ids suffice.
    /// </summary>
    private FaultPlan? Membership(FaultKind kind, FaultPicture picture)
    {
        var latest = VoterSets(picture)[^1];
        if (picture.MembershipBusy || picture.Rebuilding > 0 || Budget(picture) < 0)
        {
            return null;
        }

        if (kind == FaultKind.Replace)
        {
            var voters = HealthyVoters(picture).Where(latest.Contains).ToList();
            return picture.SpareIds < 1 || voters.Count == 0 ? null : new FaultPlan(kind, Pick(voters, 1), false, []);
        }

        if (_grows)
        {
            if (picture.SpareIds < 2 || latest.Count + 2 > ChaosOptions.ReplicasMax)
            {
                return null;
            }

            _grows = false;
            return new FaultPlan(kind, [], false, []);
        }

        // Shrinking back to the run's size: two of the latest voters, healthy or not.
        _grows = true;
        return latest.Count - 2 < _replicas ? null : new FaultPlan(kind, Pick(latest, 2), false, []);
    }

    private List<int> Pick(IReadOnlyList<int> from, int count) => [.. Shuffle(from).Take(count).Order()];

    private List<int> Shuffle(IReadOnlyList<int> from)
    {
        var shuffled = from.ToArray();
        _random.Shuffle(shuffled);
        return [.. shuffled];
    }

    private double Between(double low, double high) => low + (_random.NextDouble() * (high - low));
}
