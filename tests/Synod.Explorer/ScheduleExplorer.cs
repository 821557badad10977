using System.Diagnostics;
using System.Text;
using Synod.Core;

namespace Synod.Explorer;

/// <summary>
/// Bounded exploration of every schedule of a small cluster of real cores: every order of delivery, the faults
/// switched on, timeouts and client proposals, to a depth bound, with states pruned by <see cref="ExploredCluster.Hash"/>
/// and the invariants checked after every step. A state is stored as the schedule that reaches it (a parent link and a
/// step) and rebuilt by replaying that schedule, since the core cannot be copied.
/// </summary>
public sealed class ScheduleExplorer
{
    private readonly ExplorerOptions _options;
    private readonly List<int> _parents = [];
    private readonly List<Step> _steps = [];
    private readonly List<int> _depths = [];
    private readonly Stopwatch _clock = new();
    private long _explored;
    private long _distinct;
    private long _cut;
    private int _depthReached;

    public ScheduleExplorer(ExplorerOptions options)
    {
        options.Validate();
        _options = options;
    }

    public ExplorationResult Run()
    {
        _clock.Restart();
        return _options.Strategy switch
        {
            SearchStrategy.Bfs => Search(lifo: false, _options.DepthMax),
            SearchStrategy.Dfs => Search(lifo: true, _options.DepthMax),
            SearchStrategy.IterativeDeepening => IterativeDeepening(),
            SearchStrategy.RandomWalk => RandomWalk(),
            SearchStrategy.InterruptedElection => new InterruptedElectionSearch(_options).Run(),
            _ => throw new ArgumentException($"Unknown strategy {_options.Strategy}."),
        };
    }

    /// <summary>Prints a schedule step by step, replayed with each step's effects and the replicas' state after it.</summary>
    public string Print(IReadOnlyList<Step> schedule)
    {
        var trace = new StringBuilder();
        var cluster = new ExploredCluster(_options, trace);
        for (var i = 0; i < schedule.Count; i++)
        {
            trace.Append($"{i + 1,4}. ");
            cluster.Apply(schedule[i]);
            if (cluster.Violation is { } violation)
            {
                trace.AppendLine($"      VIOLATION: {violation}");
                break;
            }
        }

        return trace.ToString();
    }

    private ExplorationResult Search(bool lifo, int depthMax)
    {
        _parents.Clear();
        _steps.Clear();
        _depths.Clear();
        var shallowest = new Dictionary<ulong, int> { [new ExploredCluster(_options).Hash()] = 0 };
        AddNode(-1, default, 0);
        var frontier = new LinkedList<int>([0]);
        while (frontier.Count > 0)
        {
            // Depth first takes the last node added (children go in reversed, so the first enabled step comes first).
            var node = lifo ? frontier.Last!.Value : frontier.First!.Value;
            frontier.Remove(lifo ? frontier.Last! : frontier.First!);
            if (_depths[node] >= depthMax)
            {
                continue;
            }

            var children = new List<int>();
            if (Expand(node, shallowest, children) is { } stop)
            {
                return stop;
            }

            for (var i = 0; i < children.Count; i++)
            {
                frontier.AddLast(lifo ? children[children.Count - 1 - i] : children[i]);
            }
        }

        return Finish(exhausted: true);
    }

    /// <summary>
    /// Runs every step enabled at <paramref name="node"/>'s state and adds the states not seen at this depth or less to
    /// <paramref name="children"/>; returns a result when a violation is found or the state budget is spent.
    /// </summary>
    private ExplorationResult? Expand(int node, Dictionary<ulong, int> shallowest, List<int> children)
    {
        var depth = _depths[node];
        var schedule = ScheduleOf(node);
        var parent = Replay(schedule);
        var steps = parent.EnabledSteps();
        for (var i = 0; i < steps.Count; i++)
        {
            var cluster = i == 0 ? parent : Replay(schedule);
            cluster.Apply(steps[i]);
            _explored++;
            if (cluster.Violation is { } violation)
            {
                return Found([.. schedule, steps[i]], violation, exhausted: false);
            }

            if (cluster.OverMessageBound)
            {
                _cut++;
                continue;
            }

            var hash = cluster.Hash();
            if (shallowest.TryGetValue(hash, out var seen) && seen <= depth + 1)
            {
                continue;
            }

            shallowest[hash] = depth + 1;
            children.Add(AddNode(node, steps[i], depth + 1));
            _distinct = Math.Max(_distinct, shallowest.Count);
            if (shallowest.Count >= _options.StatesMax)
            {
                return Finish(exhausted: false);
            }
        }

        return null;
    }

    private ExplorationResult IterativeDeepening()
    {
        var result = Finish(exhausted: true);
        for (var bound = 1; bound <= _options.DepthMax; bound++)
        {
            result = Search(lifo: true, bound);
            if (result.Violation is not null || !result.Exhausted)
            {
                return result;
            }
        }

        return result;
    }

    private ExplorationResult RandomWalk()
    {
        var random = new SeededRandom(_options.Seed);
        var seen = new HashSet<ulong>();
        var depthMax = _options.DepthMax;
        (List<Step> Schedule, string Violation)? shortest = null;
        while (_explored < _options.StatesMax)
        {
            var cluster = new ExploredCluster(_options);
            var schedule = new List<Step>();
            while (schedule.Count < depthMax && _explored < _options.StatesMax)
            {
                var steps = cluster.EnabledSteps();
                var step = steps[random.Next(steps.Count)];
                schedule.Add(step);
                cluster.Apply(step);
                _explored++;
                _depthReached = Math.Max(_depthReached, schedule.Count);
                seen.Add(cluster.Hash());
                _distinct = seen.Count;
                if (cluster.Violation is { } violation)
                {
                    // Keep walking, but only for schedules shorter than the one found.
                    shortest = (schedule, violation);
                    depthMax = schedule.Count - 1;
                    break;
                }

                if (cluster.OverMessageBound)
                {
                    _cut++;
                    break;
                }
            }
        }

        return shortest is { } found ? Found(found.Schedule, found.Violation, exhausted: false) : Finish(exhausted: false);
    }

    private int AddNode(int parent, Step step, int depth)
    {
        _parents.Add(parent);
        _steps.Add(step);
        _depths.Add(depth);
        _depthReached = Math.Max(_depthReached, depth);
        return _parents.Count - 1;
    }

    private List<Step> ScheduleOf(int node)
    {
        var schedule = new List<Step>();
        for (var n = node; _parents[n] >= 0; n = _parents[n])
        {
            schedule.Add(_steps[n]);
        }

        schedule.Reverse();
        return schedule;
    }

    private ExploredCluster Replay(List<Step> schedule)
    {
        var cluster = new ExploredCluster(_options);
        foreach (var step in schedule)
        {
            cluster.Apply(step);
        }

        return cluster;
    }

    private ExplorationResult Found(List<Step> schedule, string violation, bool exhausted) => Finish(exhausted) with
    {
        Violation = violation,
        Schedule = Print(schedule),
        ScheduleLength = schedule.Count,
        DepthReached = Math.Max(_depthReached, schedule.Count),
    };

    private ExplorationResult Finish(bool exhausted) => new()
    {
        StatesExplored = _explored,
        DistinctStates = _distinct,
        DepthReached = _depthReached,
        Elapsed = _clock.Elapsed,
        Exhausted = exhausted,
        CutAtMessageBound = _cut,
    };
}
