using Microsoft.Extensions.Logging;

namespace Synod.Server;

/// <summary>
/// How long each pass of the owner loop takes, and where the time went. A pass that outlasts a fraction of the
/// election timeout starves this replica's heartbeats and acknowledgements (a leader then loses its quorum), so every
/// pass is timed into synod_loop_pass_duration_seconds and a slow one is logged with its parts: the input that took
/// longest, the Ready work (WAL writes and fsyncs included), the answers, and the garbage collector's pauses in it.
/// </summary>
public sealed partial class ReplicaHost
{
    /// <summary>A pass longer than this (milliseconds) is logged as slow.</summary>
    private const int SlowPassLogMs = 100;

    /// <summary>At most one slow-pass line per this interval (milliseconds), with the count of slow passes since the last.</summary>
    private const int SlowPassLogIntervalMs = 5_000;

    private long _slowPasses;
    private long _slowPassLoggedAtMs = long.MinValue / 2;

    private void NotePass(LoopPassTimes pass)
    {
        Metrics.LoopPassSeconds.Record(pass.TotalMs / 1000, Metrics.Replica);
        if (pass.TotalMs < SlowPassLogMs)
        {
            return;
        }

        _slowPasses++;
        if (Environment.TickCount64 - _slowPassLoggedAtMs < SlowPassLogIntervalMs)
        {
            return;
        }

        _logger.LogWarning(
            "replica {Id}: {Count} owner-loop pass(es) took over {Threshold} ms since the last such line; the last took {Total:F0} ms: " +
            "{Inputs} inputs in {HandleMs:F0} ms (longest {LongestMs:F0} ms, a {Longest}), Ready work and WAL {ProcessMs:F0} ms, answers {DeliverMs:F0} ms; " +
            "garbage collection paused the process {GcMs:F0} ms of it{Collections}",
            Id, _slowPasses, SlowPassLogMs, pass.TotalMs, pass.Inputs, pass.HandleMs, pass.LongestInputMs, pass.LongestInput, pass.ProcessMs, pass.DeliverMs, pass.GcPauseMs,
            CollectionsSince(pass.CollectionsBefore));
        _slowPasses = 0;
        _slowPassLoggedAtMs = Environment.TickCount64;
    }

    /// <summary>
    /// The last collection of each kind that started after <paramref name="before"/> (GC.CollectionCount(0) then; a
    /// collection's index is that count plus one when it starts), as "; the last of each kind in it: a full blocking
    /// collection of generation 2, compacting, paused 1733 ms, ...", or nothing when none did. A background collection
    /// that started before the pass and paused it is counted in the pause time but not named. Read only when a slow
    /// pass is logged: each kind's record is an allocation.
    /// </summary>
    internal static string CollectionsSince(int before)
    {
        var parts = new List<string>();
        foreach (var kind in (ReadOnlySpan<GCKind>)[GCKind.FullBlocking, GCKind.Background, GCKind.Ephemeral])
        {
            var info = GC.GetGCMemoryInfo(kind);
            if (info.Index > before)
            {
                var paused = TimeSpan.Zero;
                foreach (var pause in info.PauseDurations)
                {
                    paused += pause;
                }

                parts.Add(DescribeCollection(kind, info.Generation, info.Compacted, paused.TotalMilliseconds));
            }
        }

        return parts.Count == 0 ? "" : $"; the last of each kind in it: {string.Join(", ", parts)}";
    }

    /// <summary>One collection as the slow-pass line names it: "a full blocking collection of generation 2, compacting, paused 1733 ms".</summary>
    internal static string DescribeCollection(GCKind kind, int generation, bool compacted, double pausedMs) =>
        $"{(kind switch { GCKind.FullBlocking => "a full blocking", GCKind.Background => "a background", _ => "an ephemeral" })} collection of generation {generation}, " +
        $"{(compacted ? "compacting" : "sweeping")}, paused {pausedMs:F0} ms";

    /// <summary>Timestamps of one pass's parts (owner loop only).</summary>
    private struct LoopPass
    {
        private long _started;
        private long _processing;
        private long _delivering;
        private TimeSpan _gcBefore;
        private int _collectionsBefore;
        private double _longestMs;
        private string _longest;

        public static LoopPass Start() => new()
        {
            _started = TimeProvider.System.GetTimestamp(),
            _gcBefore = GC.GetTotalPauseDuration(),
            _collectionsBefore = GC.CollectionCount(0),
            _longest = "none",
        };

        public void Handled(HostInput input, long inputStarted)
        {
            var ms = TimeProvider.System.GetElapsedTime(inputStarted).TotalMilliseconds;
            if (ms > _longestMs)
            {
                (_longestMs, _longest) = (ms, input.GetType().Name);
            }
        }

        public void Processing() => _processing = TimeProvider.System.GetTimestamp();

        public void Delivering() => _delivering = TimeProvider.System.GetTimestamp();

        public readonly LoopPassTimes End(int inputs)
        {
            var ended = TimeProvider.System.GetTimestamp();
            return new LoopPassTimes(
                TimeProvider.System.GetElapsedTime(_started, ended).TotalMilliseconds,
                inputs,
                TimeProvider.System.GetElapsedTime(_started, _processing).TotalMilliseconds,
                _longestMs,
                _longest,
                TimeProvider.System.GetElapsedTime(_processing, _delivering).TotalMilliseconds,
                TimeProvider.System.GetElapsedTime(_delivering, ended).TotalMilliseconds,
                (GC.GetTotalPauseDuration() - _gcBefore).TotalMilliseconds,
                _collectionsBefore);
        }
    }

    private readonly record struct LoopPassTimes(
        double TotalMs, int Inputs, double HandleMs, double LongestInputMs, string LongestInput, double ProcessMs, double DeliverMs, double GcPauseMs,
        int CollectionsBefore);
}
