using System.Text;
using Synod.Core;
using Synod.Driver;
using Synod.Kv;

namespace Synod.Simulation;

/// <summary>
/// Watchers of prefix "k", as Synod.Client runs them: each served by one replica's driver through a sink of small,
/// random capacity that the client drains after a delay (so sinks fill, and watchers fall back to the history and
/// catch up); when its replica crashes, or it hears nothing for a while, the client resumes at another replica from
/// the revision after the last one reported. The oracle: each watcher's changes come in revision order without a
/// repeat; every report about one revision agrees with every other (watchers', and reads' at that revision); and no
/// acknowledged change is missing from the revisions a watcher covered.
/// </summary>
public sealed partial class Simulator
{
    private const int WatchersPerRun = 2;
    private const int WatchSilenceMs = 1_500;
    private const int WatchResumeDelayMs = 50;

    private readonly List<SimWatcher> _watchers = [];
    private SeededRandom? _watchRandom;

    // The k-key changes reported or acknowledged at each revision: every report about one revision must agree.
    private readonly Dictionary<long, (SortedDictionary<string, string?> Changes, string Source)> _changesAt = [];

    // Acknowledged changes of k-keys (put, delete of a key that existed, a swap that held): key and value (null: deleted).
    private readonly Dictionary<long, (string Key, string? Value)> _acknowledgedChanges = [];

    private void StartWatchers()
    {
        if (_watchRandom is not null || BeforeUpgrade)
        {
            return;
        }

        _watchRandom = new SeededRandom(Mix((ulong)Options.Seed, 0x3A7C));
        for (var i = 1; i <= WatchersPerRun; i++)
        {
            var watcher = new SimWatcher(i) { User = WatchUser(i) };
            _watchers.Add(watcher);
            Schedule(NowMs + _watchRandom.Next(200), Tracing ? $"watcher {i} starts" : null, () => Resume(watcher));
        }
    }

    /// <summary>Opens the watcher's stream at an up replica from the revision after the last reported (0 at first).</summary>
    private void Resume(SimWatcher watcher)
    {
        if (_finished)
        {
            return;
        }

        var up = _hosts.Where(h => h.Up).ToList();
        if (up.Count == 0)
        {
            Schedule(NowMs + WatchResumeDelayMs, null, () => Resume(watcher));
            return;
        }

        var host = up[_watchRandom!.Next(up.Count)];
        var sink = new SimWatchSink(this, watcher, host, capacity: 1 + _watchRandom.Next(3), watcher.User);
        watcher.Sink = sink;
        watcher.LastHeardMs = NowMs;
        host.Watch(sink, watcher.Index, KvRange.Prefix("k"u8.ToArray()), watcher.NextRevision, progressNotify: true, watcher.User);
        ScheduleSilenceCheck(watcher, sink);
    }

    private void ScheduleSilenceCheck(SimWatcher watcher, SimWatchSink sink)
    {
        Schedule(NowMs + WatchSilenceMs, null, () =>
        {
            if (watcher.Sink != sink || _finished)
            {
                return;
            }

            if (!sink.Host.Up || sink.Host.Incarnation != sink.Incarnation || NowMs - watcher.LastHeardMs >= WatchSilenceMs)
            {
                // The stream is gone or silent: the client closes it and resumes elsewhere.
                watcher.Sink = null;
                if (sink.Host.Up && sink.Host.Incarnation == sink.Incarnation)
                {
                    sink.Host.CloseWatchStream(sink);
                }

                Schedule(NowMs + WatchResumeDelayMs, null, () => Resume(watcher));
                return;
            }

            ScheduleSilenceCheck(watcher, sink);
        });
    }

    /// <summary>A message of a watcher's current stream reached the client.</summary>
    private void OnWatchMessage(SimWatcher watcher, SimWatchSink sink, Action<SimWatcher> handle)
    {
        if (watcher.Sink != sink)
        {
            return;
        }

        watcher.LastHeardMs = NowMs;
        handle(watcher);
    }

    private void OnWatchCreated(SimWatcher watcher, long startRevision)
    {
        if (watcher.NextRevision == 0)
        {
            watcher.NextRevision = startRevision;
        }
        else if (startRevision != watcher.NextRevision)
        {
            _violations.Add($"at {NowMs} ms: watcher {watcher.Index} asked to resume from revision {watcher.NextRevision} and was told it starts at {startRevision}.");
        }

        watcher.Segments.Add((watcher.NextRevision, watcher.NextRevision - 1));
    }

    private void OnWatchEvents(SimWatcher watcher, IReadOnlyList<KvEvent> events)
    {
        if (watcher.Segments.Count == 0)
        {
            _violations.Add($"at {NowMs} ms: watcher {watcher.Index} received changes before its watch was created.");
            return;
        }

        foreach (var group in events.GroupBy(e => e.Revision))
        {
            if (group.Key < watcher.NextRevision)
            {
                _violations.Add($"at {NowMs} ms: watcher {watcher.Index} received revision {group.Key} again or out of order (it had everything before {watcher.NextRevision}).");
                continue;
            }

            var changes = new SortedDictionary<string, string?>(StringComparer.Ordinal);
            foreach (var change in group)
            {
                if (!changes.TryAdd(Encoding.UTF8.GetString(change.Key), change.Entry is { } entry ? Encoding.UTF8.GetString(entry.Value.Span) : null))
                {
                    _violations.Add($"at {NowMs} ms: watcher {watcher.Index} received the change to {Encoding.UTF8.GetString(change.Key)} at revision {group.Key} twice.");
                }
            }

            NoteChangesAt(group.Key, changes, $"watcher {watcher.Index}");
            watcher.NextRevision = group.Key + 1;
        }

        watcher.Segments[^1] = (watcher.Segments[^1].From, watcher.NextRevision - 1);
    }

    private void OnWatchProgress(SimWatcher watcher, long revision)
    {
        if (revision >= watcher.NextRevision && watcher.Segments.Count > 0)
        {
            watcher.NextRevision = revision + 1;
            watcher.Segments[^1] = (watcher.Segments[^1].From, revision);
        }
    }

    private void OnWatchCanceled(SimWatcher watcher, string reason, long compactRevision)
    {
        if (compactRevision == 0)
        {
            _violations.Add($"at {NowMs} ms: watcher {watcher.Index} was cancelled: {reason}");
            return;
        }

        // Legitimate only past a bound: a compaction asked for beyond the watcher's next revision, or a small window.
        // (In a run upgraded in place, a watcher opened before history started is cancelled when it starts: legitimate.)
        if (HistoryLimits == KvHistoryLimits.Default && watcher.NextRevision >= _compactRequestedMax && Faults.Upgrades == 0)
        {
            _violations.Add($"at {NowMs} ms: watcher {watcher.Index} was cancelled as compacted at revision {compactRevision} while it needed revision {watcher.NextRevision}, "
                + $"which no compaction asked for (up to {_compactRequestedMax}) and the default window still holds.");
        }

        // It fell behind the window: the client reads afresh and watches from the next change (a new segment).
        watcher.Sink = null;
        watcher.NextRevision = 0;
        Faults.WatchersCompacted++;
        Schedule(NowMs + WatchResumeDelayMs, null, () => Resume(watcher));
    }

    /// <summary>An acknowledged write of a k-key: its change at its revision.</summary>
    private void NoteAcknowledgedChange(long revision, string key, string? value)
    {
        if (BeforeUpgrade || revision == 0 || !key.StartsWith('k'))
        {
            return;
        }

        _acknowledgedChanges[revision] = (key, value);
        if (_changesAt.TryGetValue(revision, out var reported) && (!reported.Changes.TryGetValue(key, out var then) || then != value))
        {
            _violations.Add($"at {NowMs} ms: a write of {key}={value ?? "(deleted)"} was acknowledged at revision {revision}, but {reported.Source} reported {Show(reported.Changes)} there.");
        }
    }

    private void NoteChangesAt(long revision, SortedDictionary<string, string?> changes, string source)
    {
        if (_changesAt.TryGetValue(revision, out var known))
        {
            if (!known.Changes.SequenceEqual(changes))
            {
                _violations.Add($"at {NowMs} ms: {known.Source} and {source} report different changes at revision {revision}: {Show(known.Changes)} and {Show(changes)}.");
            }

            return;
        }

        _changesAt[revision] = (changes, source);
        if (_acknowledgedChanges.TryGetValue(revision, out var acknowledged)
            && (!changes.TryGetValue(acknowledged.Key, out var reportedValue) || reportedValue != acknowledged.Value))
        {
            _violations.Add($"at {NowMs} ms: {source} reported {Show(changes)} at revision {revision}, where a write of {acknowledged.Key}={acknowledged.Value ?? "(deleted)"} was acknowledged.");
        }

        if (_stateAt.TryGetValue(revision, out var state))
        {
            foreach (var (key, value) in changes)
            {
                if (state.Keys.GetValueOrDefault(key) != value)
                {
                    _violations.Add($"at {NowMs} ms: {source} reported {key}={value ?? "(deleted)"} at revision {revision}, but {state.Source} found {key}={state.Keys.GetValueOrDefault(key) ?? "(absent)"} there.");
                }
            }
        }
    }

    /// <summary>At the end: every acknowledged change within the revisions a watcher covered reached it.</summary>
    private void CheckWatchersCovered()
    {
        foreach (var watcher in _watchers)
        {
            foreach (var (from, to) in watcher.Segments)
            {
                foreach (var (revision, change) in _acknowledgedChanges.Where(a => a.Key >= from && a.Key <= to).OrderBy(a => a.Key))
                {
                    if (!watcher.Received.Contains(revision))
                    {
                        _violations.Add($"watcher {watcher.Index} covered revisions {from}..{to} but never received the acknowledged change {change.Key}={change.Value ?? "(deleted)"} at revision {revision}.");
                        return;
                    }
                }
            }
        }
    }

    private static string Show(SortedDictionary<string, string?> changes) =>
        "{" + string.Join(", ", changes.Select(pair => $"{pair.Key}={pair.Value ?? "(deleted)"}")) + "}";

    /// <summary>A watch client: its resume point, the revisions it received, and the stretches of revisions it covered.</summary>
    private sealed class SimWatcher(int index)
    {
        public int Index { get; } = index;

        public SimWatchSink? Sink { get; set; }

        /// <summary>The user its next watch is opened as (null: none named).</summary>
        public string? User { get; set; }

        /// <summary>The first revision not yet reported to it (0 before its first watch was created: from the next change).</summary>
        public long NextRevision { get; set; }

        public double LastHeardMs { get; set; }

        public HashSet<long> Received { get; } = [];

        /// <summary>Contiguous stretches of revisions [From, To] it has been told everything about.</summary>
        public List<(long From, long To)> Segments { get; } = [];
    }

    /// <summary>
    /// One stream at one replica: what the driver hands it reaches the client after a network delay, and is drained
    /// there after a short while; it holds at most a few batches, so a busy stream fills and its watcher falls behind.
    /// </summary>
    private sealed class SimWatchSink(Simulator sim, SimWatcher watcher, SimReplicaHost host, int capacity, string? user) : IWatchSink
    {
        private int _queued;
        private long _lastArrivalMs;

        public SimReplicaHost Host { get; } = host;

        public int Incarnation { get; } = host.Incarnation;

        public bool HasRoom => _queued < capacity;

        public void ProgressRequestAnswered()
        {
        }

        public void Created(long watchId, long startRevision, long revision) => Send(w => sim.OnWatchCreated(w, startRevision));

        public void Deliver(long watchId, IReadOnlyList<KvEvent> events, long revision)
        {
            var copy = events.ToList();
            sim.CheckWatchDelivery(watcher.Index, user, copy);
            Send(w =>
            {
                foreach (var change in copy)
                {
                    w.Received.Add(change.Revision);
                }

                sim.OnWatchEvents(w, copy);
            });
        }

        public void Progress(long watchId, long revision) => Send(w => sim.OnWatchProgress(w, revision));

        public void Canceled(long watchId, string reason, long compactRevision) => Send(w => sim.OnWatchCanceled(w, reason, compactRevision));

        public void Denied(long watchId, string reason) => Send(w => sim.OnWatchDenied(w, reason));

        private void Send(Action<SimWatcher> handle)
        {
            if (++_queued == capacity)
            {
                sim.Faults.WatchStreamsFull++;
            }

            // One stream is ordered: a message never overtakes the one before it.
            var arrive = Math.Max(_lastArrivalMs, sim.NowMs + 1 + sim._watchRandom!.Next(sim.Options.NetworkDelayMsMax));
            _lastArrivalMs = arrive;
            sim.Schedule(arrive, null, () =>
            {
                sim.OnWatchMessage(watcher, this, handle);
                sim.Schedule(sim.NowMs + sim._watchRandom.Next(40), null, () => _queued--);
            });
        }
    }
}
