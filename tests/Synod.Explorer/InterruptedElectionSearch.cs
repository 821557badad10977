using System.Diagnostics;
using System.Text;
using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Explorer;

/// <summary>
/// A targeted, bounded, exhaustive search for one fault: an election interrupted by a partition, whose messages land after the
/// rest of the cluster has moved on (the "messages that outlive elections and rebuilds" of the simulator's long holds, aimed at
/// the moment a candidacy is open). Both of issue 13's findings are of this kind, and neither fits the step-by-step search:
/// on five replicas they take dozens of single steps (docs/protocol.md, "Exhaustive exploration").
/// A schedule has three parts:
/// 1. The interruption (<see cref="ElectionInterruption"/>): the largest replica, the candidate, asks for pre-votes; the answers
///    of q−1 peers reach it, so it stands; the promises of at most q−2 peers reach it, so it cannot lead; it may stand once more;
///    everything else it sent stays in flight, and from then on it is cut off and its clock stands still.
/// 2. Up to <see cref="ExplorerOptions.EpisodesMax"/> episodes of the other replicas (<see cref="EpisodeMenu"/>): a disk loss, a
///    crash, a client command with one replica left out, a run with one left out, a snapshot; after each fault or command the
///    replicas taking part run <see cref="ExplorerOptions.SettleTicks"/> ticks together (an election, a rebuild, a commit
///    complete within them).
/// 3. Up to <see cref="ExplorerOptions.ReconnectsMax"/> reconnections: one peer's time passes until it no longer hears a leader,
///    then it and the candidate exchange whatever is in flight between them, answers included, until nothing is left.
/// Every combination within the bounds is played, depth first, on copies of the state (<see cref="StateCloner"/>); a state seen
/// before at the same or a shallower depth of its part is not explored again; the invariants are checked after every episode.
/// </summary>
public sealed class InterruptedElectionSearch
{
    private readonly ExplorerOptions _options;
    private readonly int[] _others;
    private readonly Dictionary<ulong, int> _seenBetween = [];
    private readonly Dictionary<ulong, int> _seenAfter = [];
    private readonly Stopwatch _clock = new();
    private long _explored;
    private long _cut;
    private int _depthReached;
    private int _interruptionLength;
    private int _interruptions;
    private int _shapes;

    public InterruptedElectionSearch(ExplorerOptions options)
    {
        options.Validate();
        _options = options;
        _others = [.. Enumerable.Range(1, options.Replicas - 1)];
    }

    /// <summary>The candidate whose election is interrupted: the largest id, whose ballots outrank every other's of the same round.</summary>
    private int Candidate => _options.Replicas;

    public ExplorationResult Run()
    {
        _clock.Restart();
        foreach (var shape in Shapes())
        {
            _shapes++;
            var schedule = Interrupt(shape);
            _interruptionLength = schedule.Count;
            var cluster = new ExploredCluster(_options);
            foreach (var episode in schedule)
            {
                Play(cluster, episode);
                _explored++;
            }

            if (cluster.Violation is { } violation)
            {
                return Found(schedule, violation);
            }

            if (cluster.Core(Candidate).Role != ReplicaRole.Candidate)
            {
                // This shape did not leave a candidacy open (the core stood down, or never stood); nothing to interrupt.
                continue;
            }

            _interruptions++;
            if (Between(cluster, schedule, 0) is { } stop)
            {
                return stop;
            }
        }

        return Finish(exhausted: true);
    }

    /// <summary>Prints a schedule episode by episode, replayed with each one's effects and the replicas' state after it.</summary>
    public string Print(IReadOnlyList<Episode> schedule)
    {
        var trace = new StringBuilder();
        var cluster = new ExploredCluster(_options, trace);
        for (var i = 0; i < schedule.Count; i++)
        {
            trace.Append($"{i + 1,4}. ");
            Play(cluster, schedule[i]);
            if (cluster.Violation is { } violation)
            {
                trace.AppendLine($"      VIOLATION: {violation}");
                break;
            }
        }

        trace.AppendLine($"      ({cluster.MessagesDelivered} messages delivered and {cluster.TicksTaken} ticks taken in all)");
        return trace.ToString();
    }

    /// <summary>The episodes of the other replicas, depth first; from every state reached, the reconnections are tried too.</summary>
    private ExplorationResult? Between(ExploredCluster cluster, List<Episode> schedule, int depth)
    {
        if (After(cluster, schedule, 0) is { } found)
        {
            return found;
        }

        if (depth == _options.EpisodesMax)
        {
            return null;
        }

        foreach (var episode in EpisodesAt(cluster))
        {
            var next = cluster.Clone();
            List<Episode> longer = [.. schedule, episode];
            if (Advance(next, longer, _seenBetween, depth + 1, out var fresh) is { } stop)
            {
                return stop;
            }

            if (fresh && Between(next, longer, depth + 1) is { } deeper)
            {
                return deeper;
            }
        }

        return null;
    }

    /// <summary>The reconnections, depth first.</summary>
    private ExplorationResult? After(ExploredCluster cluster, List<Episode> schedule, int depth)
    {
        if (depth == _options.ReconnectsMax)
        {
            return null;
        }

        foreach (var episode in Reconnections())
        {
            var next = cluster.Clone();
            List<Episode> longer = [.. schedule, episode];
            if (Advance(next, longer, _seenAfter, depth + 1, out var fresh) is { } stop)
            {
                return stop;
            }

            if (fresh && After(next, longer, depth + 1) is { } deeper)
            {
                return deeper;
            }
        }

        return null;
    }

    /// <summary>
    /// Plays the last episode of <paramref name="schedule"/> on <paramref name="cluster"/>. Returns a result to stop with (a violation, or
    /// the state budget spent), and in <paramref name="fresh"/> whether the state reached is new at this depth of its part.
    /// </summary>
    private ExplorationResult? Advance(ExploredCluster cluster, List<Episode> schedule, Dictionary<ulong, int> seen, int depth, out bool fresh)
    {
        fresh = false;
        Play(cluster, schedule[^1]);
        _explored++;
        _depthReached = Math.Max(_depthReached, schedule.Count - _interruptionLength);
        if (cluster.Violation is { } violation)
        {
            return Found(schedule, violation);
        }

        if (cluster.OverMessageBound)
        {
            _cut++;
            return null;
        }

        var hash = cluster.Hash();
        if (seen.TryGetValue(hash, out var shallowest) && shallowest <= depth)
        {
            return null;
        }

        seen[hash] = depth;
        fresh = true;
        return _seenBetween.Count + _seenAfter.Count >= _options.StatesMax ? Finish(exhausted: false) : null;
    }

    private IEnumerable<Episode> EpisodesAt(ExploredCluster cluster)
    {
        var menu = _options.Episodes;
        foreach (var r in _others)
        {
            if (menu.HasFlag(EpisodeMenu.LoseDisk) && cluster.DiskLosses < _options.DiskLossesMax && cluster.MayLoseDisk(r))
            {
                yield return new Episode(EpisodeKind.LoseDisk, r);
            }
        }

        foreach (var r in _others)
        {
            if (menu.HasFlag(EpisodeMenu.Crash) && cluster.Crashes < _options.CrashesMax)
            {
                yield return new Episode(EpisodeKind.Crash, r);
            }
        }

        foreach (var left in (int[])[0, .. _others])
        {
            if (menu.HasFlag(EpisodeMenu.Write) && cluster.Proposals < _options.Slots)
            {
                yield return new Episode(EpisodeKind.Write, 0, left);
            }
        }

        foreach (var left in (int[])[0, .. _others])
        {
            if (menu.HasFlag(EpisodeMenu.Run))
            {
                yield return new Episode(EpisodeKind.Run, 0, left);
            }
        }

        foreach (var r in _others)
        {
            if (menu.HasFlag(EpisodeMenu.Snapshot) && cluster.Snapshots < _options.SnapshotsMax && cluster.MaySnapshot(r))
            {
                yield return new Episode(EpisodeKind.Snapshot, r);
            }
        }
    }

    private IEnumerable<Episode> Reconnections()
    {
        foreach (var r in _others)
        {
            yield return new Episode(EpisodeKind.Reconnect, r, Candidate);
            if (_options.Episodes.HasFlag(EpisodeMenu.Exchange))
            {
                yield return new Episode(EpisodeKind.Exchange, r, Candidate);
            }
        }
    }

    private void Play(ExploredCluster cluster, Episode episode)
    {
        cluster.Note(Describe(episode));
        var r = episode.Replica;
        switch (episode.Kind)
        {
            case EpisodeKind.Propose:
                cluster.Act(StepKind.Propose, r);
                break;
            case EpisodeKind.AskPreVotes:
                cluster.TickAlone(r, m => m is PreVote, _options.TimeoutTicksMax);
                break;
            case EpisodeKind.StandAgain:
                cluster.TickAlone(r, m => m is Prepare, _options.TimeoutTicksMax);
                break;
            case EpisodeKind.DeliverLink:
                cluster.DeliverLink(r, episode.Other);
                break;
            case EpisodeKind.LoseDisk or EpisodeKind.Crash:
                cluster.Act(episode.Kind == EpisodeKind.LoseDisk ? StepKind.DiskLoss : StepKind.Crash, r);
                cluster.Settle(Group(0), _options.SettleTicks);
                break;
            case EpisodeKind.Write or EpisodeKind.Run:
                var group = Group(episode.Other);
                if (episode.Kind == EpisodeKind.Write)
                {
                    cluster.Act(StepKind.Propose, group[0]);
                }

                cluster.Settle(group, _options.SettleTicks);
                break;
            case EpisodeKind.Snapshot:
                cluster.Act(StepKind.Snapshot, r);
                break;
            case EpisodeKind.Reconnect or EpisodeKind.Exchange:
                if (episode.Kind == EpisodeKind.Reconnect)
                {
                    cluster.TickAlone(r, m => m is PreVote or Prepare, _options.TimeoutTicksMax);
                }

                cluster.Exchange(episode.Other, r);
                break;
            default:
                throw new InvalidOperationException($"Unknown episode kind {episode.Kind}.");
        }

        cluster.Note("      " + cluster.Status());
    }

    /// <summary>Every replica but the candidate and <paramref name="left"/> (none if 0), in id order.</summary>
    private int[] Group(int left) => [.. _others.Where(r => r != left)];

    private string Describe(Episode episode) => episode.Kind switch
    {
        EpisodeKind.Propose => $"propose   r{episode.Replica} (a client command)",
        EpisodeKind.AskPreVotes => $"time      r{episode.Replica} until it asks for pre-votes",
        EpisodeKind.StandAgain => $"time      r{episode.Replica} until its candidacy times out and it stands again",
        EpisodeKind.DeliverLink => $"deliver   r{episode.Replica}->r{episode.Other} (what is in flight on the link)",
        EpisodeKind.LoseDisk => $"disk-loss r{episode.Replica}; then {Names(Group(0))} run {_options.SettleTicks} ticks",
        EpisodeKind.Crash => $"crash     r{episode.Replica}; then {Names(Group(0))} run {_options.SettleTicks} ticks",
        EpisodeKind.Write => $"write     a client command at r{Group(episode.Other)[0]}; {Names(Group(episode.Other))} run {_options.SettleTicks} ticks",
        EpisodeKind.Run => $"run       {Names(Group(episode.Other))} run {_options.SettleTicks} ticks",
        EpisodeKind.Snapshot => $"snapshot  r{episode.Replica}",
        EpisodeKind.Reconnect => $"reconnect r{episode.Replica}: its time passes until it asks for pre-votes; r{episode.Replica} and r{episode.Other} exchange",
        EpisodeKind.Exchange => $"exchange  r{episode.Replica} and r{episode.Other} exchange what is in flight between them",
        _ => episode.ToString(),
    };

    private static string Names(IEnumerable<int> ids) => string.Join(",", ids.Select(id => $"r{id}"));

    /// <summary>The interruptions to start from: the canonical one, or every shape (<see cref="InterruptionShapes"/>).</summary>
    private IEnumerable<ElectionInterruption> Shapes()
    {
        var quorum = _options.CoreOptions(Candidate).QuorumSize;
        var preVoters = quorum - 1;
        var promisersMax = Math.Max(0, quorum - 2);
        if (_options.Interruptions == InterruptionShapes.Canonical)
        {
            var first = _others[..preVoters];
            yield return new ElectionInterruption(Candidate, first, first[(preVoters - promisersMax)..], 2);
            yield break;
        }

        foreach (var voters in Subsets(_others, preVoters))
        {
            for (var size = 0; size <= promisersMax; size++)
            {
                foreach (var promisers in Subsets(_others, size))
                {
                    for (var stands = 1; stands <= 2; stands++)
                    {
                        yield return new ElectionInterruption(Candidate, voters, promisers, stands);
                    }
                }
            }
        }
    }

    /// <summary>The episodes that interrupt an election of the given shape.</summary>
    private static List<Episode> Interrupt(ElectionInterruption shape)
    {
        var s = shape.Candidate;
        List<Episode> schedule = [new(EpisodeKind.Propose, s), new(EpisodeKind.AskPreVotes, s)];
        schedule.AddRange(shape.PreVoters.Select(p => new Episode(EpisodeKind.DeliverLink, s, p)));
        schedule.AddRange(shape.PreVoters.Select(p => new Episode(EpisodeKind.DeliverLink, p, s)));
        for (var stand = 1; stand <= shape.Stands; stand++)
        {
            if (stand > 1)
            {
                schedule.Add(new Episode(EpisodeKind.StandAgain, s));
            }

            foreach (var promiser in shape.Promisers)
            {
                schedule.Add(new Episode(EpisodeKind.DeliverLink, s, promiser));
                schedule.Add(new Episode(EpisodeKind.DeliverLink, promiser, s));
            }
        }

        return schedule;
    }

    private static IEnumerable<int[]> Subsets(int[] items, int size)
    {
        if (size == 0)
        {
            yield return [];
            yield break;
        }

        for (var i = 0; i <= items.Length - size; i++)
        {
            foreach (var rest in Subsets(items[(i + 1)..], size - 1))
            {
                yield return [items[i], .. rest];
            }
        }
    }

    private ExplorationResult Found(List<Episode> schedule, string violation) => Finish(exhausted: false) with
    {
        Violation = violation,
        Schedule = Print(schedule),
        ScheduleLength = schedule.Count,
    };

    private ExplorationResult Finish(bool exhausted) => new()
    {
        StatesExplored = _explored,
        DistinctStates = _seenBetween.Count + _seenAfter.Count,
        DepthReached = _depthReached,
        Elapsed = _clock.Elapsed,
        Exhausted = exhausted,
        CutAtMessageBound = _cut,
        Detail = $"interrupted elections: {_interruptions} of {_shapes} shapes tried",
    };
}
