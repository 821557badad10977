using System.Collections.Concurrent;
using Synod.Client;

namespace Synod.Chaos;

/// <summary>
/// A watcher of the workload's keys (prefix "k") through the faults, with the client library's own resumption: every
/// change it reports is kept, with the stretch of revisions it covered (from where its watch was first put in place to
/// the last change or progress notification). If the history window moves past it, it starts a new stretch.
/// </summary>
internal sealed class ChaosWatcher(int id, IReadOnlyList<string> endpoints)
{
    private readonly List<WatchCheck.Change> _changes = [];
    private readonly List<WatchCheck.Watcher> _finished = [];
    private readonly Lock _gate = new();
    private long _from = -1;
    private long _coveredTo;

    /// <summary>The last revision it has been told everything about.</summary>
    public long CoveredTo
    {
        get
        {
            lock (_gate)
            {
                return _coveredTo;
            }
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        await using var client = new SynodClient(new SynodClientOptions
        {
            Endpoints = endpoints,
            AttemptTimeout = WorkloadClient.AttemptTimeout,
            RetryBackoff = TimeSpan.FromMilliseconds(50),
            RetryBackoffMax = TimeSpan.FromMilliseconds(400),

            // Replicas send progress every --watch-progress-interval; chaos runs them with a short one (ChaosReplica).
            WatchSilenceTimeout = TimeSpan.FromSeconds(3),
        });
        while (!stop.IsCancellationRequested)
        {
            var options = new SynodWatchOptions
            {
                ProgressNotify = true,
                Created = start =>
                {
                    lock (_gate)
                    {
                        if (_from < 0)
                        {
                            _from = start;
                            _coveredTo = start - 1;
                        }
                    }
                },
            };
            try
            {
                await foreach (var change in client.WatchPrefixAsync("k", options, stop))
                {
                    lock (_gate)
                    {
                        if (change.Type != SynodWatchEventType.Progress)
                        {
                            _changes.Add(new WatchCheck.Change(change.Revision, change.KeyAsString()!, change.Type == SynodWatchEventType.Put ? change.ValueAsString() : null));
                        }

                        _coveredTo = Math.Max(_coveredTo, change.Revision);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (SynodCompactedException)
            {
                // Fell behind the window: this stretch ends; the next starts from the next change.
                EndStretch();
            }
        }
    }

    /// <summary>Every stretch it covered, the current one last.</summary>
    public IReadOnlyList<WatchCheck.Watcher> Stretches()
    {
        lock (_gate)
        {
            return _from < 0 ? [.. _finished] : [.. _finished, new WatchCheck.Watcher(id, _from, [.. _changes], _coveredTo)];
        }
    }

    private void EndStretch()
    {
        lock (_gate)
        {
            if (_from >= 0)
            {
                _finished.Add(new WatchCheck.Watcher(id, _from, [.. _changes], _coveredTo));
            }

            _changes.Clear();
            _from = -1;
            _coveredTo = 0;
        }
    }
}

/// <summary>Acknowledged changes of the watched keys, by revision; safe to add to from many clients at once.</summary>
internal sealed class ChangeLog
{
    private readonly ConcurrentDictionary<long, WatchCheck.Change> _changes = new();

    public void Add(long revision, string key, string? value)
    {
        if (revision > 0)
        {
            _changes[revision] = new WatchCheck.Change(revision, key, value);
        }
    }

    public IReadOnlyDictionary<long, WatchCheck.Change> Snapshot() => new Dictionary<long, WatchCheck.Change>(_changes);

    public long Last => _changes.IsEmpty ? 0 : _changes.Keys.Max();
}
