namespace Synod.Chaos;

/// <summary>
/// The seeded fault schedule. Early in a run it injects each enabled kind once, so even a short run has killed,
/// restarted, wiped, paused and partitioned something. Afterwards it picks kinds and victims at random, keeping the
/// replicas out of action at most N - quorum (a minority: the cluster must keep serving), and now and then, when
/// nothing else is wrong, takes out a majority for a few seconds (the cluster must then refuse writes, never lie,
/// and recover when the majority returns). A wipe is only planned while no more than N - quorum replicas would be
/// rebuilding, or the cluster could never recover (docs/protocol.md, I14).
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

    public FaultPlanner(int replicas, IReadOnlySet<FaultKind> enabled, int seed, double runStart, TimeSpan duration)
    {
        _replicas = replicas;
        _enabled = enabled;
        _random = new Random(seed);
        _forced = new Queue<FaultKind>(new[] { FaultKind.Kill, FaultKind.Pause, FaultKind.Partition, FaultKind.Wipe }.Where(enabled.Contains));
        _minorityKinds = [.. FaultKinds.All.Where(k => k != FaultKind.Restart && enabled.Contains(k))];

        // A killed majority must come back, so a majority kill needs restarts.
        _majorityKinds = [.. _minorityKinds.Where(k => k is FaultKind.Pause or FaultKind.Partition || (k == FaultKind.Kill && enabled.Contains(FaultKind.Restart)))];
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

    private FaultPlan? Minority(FaultKind kind, FaultPicture picture)
    {
        var budget = Math.Min(Tolerated - picture.Impaired, picture.Healthy.Count);
        if (budget < 1 || (kind == FaultKind.Partition && picture.PartitionActive))
        {
            return null;
        }

        // More than N - quorum replicas rebuilding at once could never recover (docs/protocol.md, I14). Rebuilding
        // replicas are also impaired, so the budget above implies this; it is spelled out because it is a rule of
        // the protocol, not of this schedule.
        if (kind == FaultKind.Wipe && picture.Rebuilding + 1 > Tolerated)
        {
            return null;
        }

        // A forced fault takes one victim, and the wipe (whose victim stays impaired until it has rebuilt, long on a slow
        // machine) is forced last, so that each forced kind finds budget early; random faults take up to the whole budget.
        var count = kind == FaultKind.Wipe || Forcing ? 1 : 1 + _random.Next(budget);
        var victims = Pick(picture.Healthy, count);
        switch (kind)
        {
            case FaultKind.Kill:
            case FaultKind.Pause:
                return new FaultPlan(kind, victims, false, [.. victims.Select(_ => Between(KillOrPauseSecondsMin, KillOrPauseSecondsMax))]);
            case FaultKind.Wipe:
                return new FaultPlan(kind, victims, false, [Between(WipeRestartSecondsMin, WipeRestartSecondsMax)]);
            default:
                var rest = Enumerable.Range(1, _replicas).Except(victims).ToList();
                var oneWay = _random.NextDouble() < OneWayShare;
                var groups = oneWay && _random.Next(2) == 0 ? new List<IReadOnlyList<int>> { rest, victims } : [victims, rest];
                return new FaultPlan(kind, victims, false, [Between(PartitionSecondsMin, PartitionSecondsMax)], oneWay, groups);
        }
    }

    private FaultPlan Majority(FaultKind kind, FaultPicture picture)
    {
        if (kind == FaultKind.Partition)
        {
            // Groups of at most quorum - 1: no side can choose anything until the cut heals.
            var shuffled = Shuffle(Enumerable.Range(1, _replicas).ToList());
            var groups = shuffled.Chunk(Quorum - 1).Select(g => (IReadOnlyList<int>)[.. g.Order()]).ToList();
            return new FaultPlan(kind, [.. shuffled.Order()], true, [Between(MajorityPartitionSecondsMin, MajorityPartitionSecondsMax)], false, groups);
        }

        var victims = Pick(picture.Healthy, Math.Min(Quorum, picture.Healthy.Count));
        return new FaultPlan(kind, victims, true, [.. victims.Select(_ => Between(MajorityKillOrPauseSecondsMin, MajorityKillOrPauseSecondsMax))]);
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
