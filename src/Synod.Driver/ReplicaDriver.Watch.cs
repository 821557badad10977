using Synod.Core;
using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// Watchers (docs/api.md, "Watch"): each reports the changes in its range from a start revision on, served from this
/// replica's applied state, so it never reports a change that is not chosen. A watcher is pumped after every applied
/// slot and every tick: its next changes are read from the history window (<see cref="KvStateMachine.EventsFrom"/>),
/// whole revisions at a time, while its sink has room. So a slow sink never holds up writes or other watchers: its
/// watchers simply fall behind, and catch up from the history once it has room again; if the window moves past
/// one of them first, it is cancelled with the oldest revision kept, for the client to read afresh. A watcher keeps the
/// user it was opened by: it is checked against the applied users and roles when it is created, and again whenever they
/// change (an applied auth change, an installed snapshot), before anything applied after the change is sent to it; one
/// whose user may no longer read its range is cancelled with permission denied.
/// </summary>
public sealed partial class ReplicaDriver
{
    private readonly Dictionary<(IWatchSink Sink, long WatchId), Watcher> _watchers = [];
    private readonly List<KvEvent> _watchBatch = [];
    private long _lastWatchPumpTick = -1;
    private long _watchVisitsThisTick;

    // The users and roles the watchers were last checked against (KvAuth is immutable: a change makes a new one).
    private KvAuth? _watchersCheckedAgainst;

    // One pass's batches, by range, start and revision: watchers of one range that are at the same point (a thousand
    // watchers of one prefix, all caught up) share one read of the history and one batch.
    private readonly Dictionary<(string Range, long From, long Revision), (KvEvent[] Events, long Next)> _batches = [];

    /// <summary>How a refusal for want of room begins (the server tells the client to watch elsewhere).</summary>
    public const string WatchersMaxRefusal = "this replica serves WatchersMax";

    /// <summary>The watchers registered here.</summary>
    public int WatcherCount => _watchers.Count;

    /// <summary>
    /// Registers a watcher of <paramref name="range"/> for <paramref name="user"/> (null: none named) from
    /// <paramref name="startRevision"/> (0: from the next change on); a start past the applied revision waits for it.
    /// Refused, through the sink, when the user may not read the range, when the watcher id is taken on the sink, when
    /// <see cref="DriverOptions.WatchersMax"/> are registered, or when the start has been compacted.
    /// </summary>
    public void Watch(IWatchSink sink, long watchId, KvRange range, long startRevision, bool progressNotify, string? user, WatchSignIn? signIn = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(range);
        if (WatchDenial(user, signIn, range) is { } denial)
        {
            sink.Denied(watchId, denial);
            return;
        }

        if (_watchers.ContainsKey((sink, watchId)))
        {
            sink.Canceled(watchId, $"watch id {watchId} is already in use on this stream; give each watch of a stream its own id.", 0);
            return;
        }

        if (_watchers.Count >= _options.WatchersMax)
        {
            sink.Canceled(watchId, $"{WatchersMaxRefusal} ({_options.WatchersMax}) watchers already; close some, or watch from another replica.", 0);
            return;
        }

        if (startRevision != 0 && startRevision <= Kv.Revision && startRevision < Kv.CompactRevision)
        {
            sink.Canceled(watchId, $"revision {startRevision} has been compacted: the oldest revision kept is {Kv.CompactRevision}; read the range afresh and watch from after it.", Kv.CompactRevision);
            return;
        }

        var next = startRevision == 0 ? Kv.Revision + 1
            : (Core.Options.Bugs & ProtocolBugs.WatchStartsOneLate) != 0 ? startRevision + 1
            : startRevision;
        var watcher = new Watcher(sink, watchId, range, progressNotify, user, signIn) { NextRevision = next, LastSentTick = Core.CurrentTick };
        _watchers[(sink, watchId)] = watcher;
        sink.Created(watchId, next, Kv.Revision);
        Pump(watcher);
    }

    /// <summary>
    /// Why <paramref name="user"/> may not watch <paramref name="range"/> as the applied roles stand, or null; signed in as
    /// <paramref name="signIn"/> (null: the name alone is judged), also when that sign-in has been retired since.
    /// </summary>
    private string? WatchDenial(string? user, WatchSignIn? signIn, KvRange range) =>
        user is not null && signIn?.Retired(Kv.Auth, user) is { } retired ? $"the watch of {KvAuth.RangeText(range.From, range.To)} ended: {retired}"
        : Kv.Auth.Allows(user, range.From, range.To, write: false) ? null
        : KvAuth.DenialText(user, $"read {KvAuth.RangeText(range.From, range.To)}", Kv.Auth.Enabled && user is not null && !Kv.Auth.Users.ContainsKey(user) ? "no such user (it was deleted)" : null);

    /// <summary>
    /// After each applied slot and an installed snapshot: when users, roles or authentication changed, every watcher
    /// whose user may no longer read its range is cancelled with permission denied, before anything applied after the
    /// change is sent to it (under <see cref="ProtocolBugs.WatchOutlivesAuthChange"/>, never).
    /// </summary>
    private void RecheckWatchers()
    {
        if (ReferenceEquals(Kv.Auth, _watchersCheckedAgainst))
        {
            return;
        }

        _watchersCheckedAgainst = Kv.Auth;
        if (_watchers.Count == 0 || (Core.Options.Bugs & ProtocolBugs.WatchOutlivesAuthChange) != 0)
        {
            return;
        }

        List<Watcher>? denied = null;
        foreach (var watcher in _watchers.Values)
        {
            if (WatchDenial(watcher.User, watcher.SignIn, watcher.Range) is { } denial)
            {
                watcher.Sink.Denied(watcher.WatchId, denial);
                (denied ??= []).Add(watcher);
            }
        }

        foreach (var watcher in denied ?? [])
        {
            _watchers.Remove((watcher.Sink, watcher.WatchId));
        }
    }

    /// <summary>Ends a watcher at its client's request; nothing more is sent for it.</summary>
    public void CancelWatch(IWatchSink sink, long watchId)
    {
        if (_watchers.Remove((sink, watchId)))
        {
            sink.Canceled(watchId, "cancelled by the client.", 0);
        }
    }

    /// <summary>The stream went away: its watchers end silently.</summary>
    public void CloseWatchStream(IWatchSink sink)
    {
        foreach (var key in _watchers.Keys.Where(key => ReferenceEquals(key.Sink, sink)).ToList())
        {
            _watchers.Remove(key);
        }
    }

    /// <summary>
    /// Asks for a progress notification for every watcher of the stream that is caught up (etcd's RequestProgress).
    /// Like the periodic ones, it is sent only while this replica hears a leader: a replica cut off from the others
    /// goes quiet, so that a client waiting for progress moves to another replica.
    /// </summary>
    public void RequestWatchProgress(IWatchSink sink)
    {
        sink.ProgressRequestAnswered();
        if (!Core.KnowsLiveLeader)
        {
            return;
        }

        foreach (var watcher in _watchers.Values.Where(w => ReferenceEquals(w.Sink, sink)).ToList())
        {
            if (!Pump(watcher))
            {
                _watchers.Remove((watcher.Sink, watcher.WatchId));
                continue;
            }

            if (watcher.NextRevision > Kv.Revision && sink.HasRoom)
            {
                sink.Progress(watcher.WatchId, Kv.Revision);
                watcher.LastSentTick = Core.CurrentTick;
            }
        }
    }

    /// <summary>
    /// After changes were applied, and on every tick (room may have freed up, or a progress notification be due). After
    /// applying, a pump visits every watcher, so the pumps of one tick are bounded by
    /// <see cref="DriverOptions.WatchPumpVisitsPerTickMax"/>: with few watchers every applied slot goes out at once (a
    /// lock's next holder hears of the release without waiting for a tick); with many, the first slot of a tick goes out
    /// at once and the slots after it wait for the tick, so that under load a watcher gets one message a tick.
    /// </summary>
    private void PumpWatchers(bool tick)
    {
        if (_watchers.Count == 0)
        {
            return;
        }

        if (_lastWatchPumpTick != Core.CurrentTick)
        {
            _lastWatchPumpTick = Core.CurrentTick;
            _watchVisitsThisTick = 0;
        }
        else if (!tick && _watchVisitsThisTick + _watchers.Count > _options.WatchPumpVisitsPerTickMax)
        {
            return;
        }

        _watchVisitsThisTick += _watchers.Count;
        _batches.Clear();
        List<Watcher>? ended = null;
        foreach (var watcher in _watchers.Values)
        {
            if (!Pump(watcher))
            {
                (ended ??= []).Add(watcher);
                continue;
            }

            if (tick && watcher.ProgressNotify && watcher.NextRevision > Kv.Revision && watcher.Sink.HasRoom && Core.KnowsLiveLeader
                && Core.CurrentTick - watcher.LastSentTick >= _options.WatchProgressEveryTicks)
            {
                watcher.Sink.Progress(watcher.WatchId, Kv.Revision);
                watcher.LastSentTick = Core.CurrentTick;
            }
        }

        foreach (var watcher in ended ?? [])
        {
            _watchers.Remove((watcher.Sink, watcher.WatchId));
        }
    }

    /// <summary>
    /// Sends a watcher what it has not been sent, while its sink has room, a batch of whole revisions at a time.
    /// Returns false when the watcher ended: the window moved past what it still had to send.
    /// </summary>
    private bool Pump(Watcher watcher)
    {
        if ((Core.Options.Bugs & ProtocolBugs.WatchDropsWhenFull) != 0 && !watcher.Sink.HasRoom)
        {
            // The bug: what a full sink cannot take is dropped instead of caught up later from the history.
            watcher.NextRevision = Math.Max(watcher.NextRevision, Kv.Revision + 1);
            return true;
        }

        while (watcher.NextRevision <= Kv.Revision && watcher.Sink.HasRoom)
        {
            if (watcher.NextRevision < Kv.CompactRevision)
            {
                watcher.Sink.Canceled(watcher.WatchId,
                    $"the watcher fell behind past the history window: revision {watcher.NextRevision} has been compacted (the oldest kept is {Kv.CompactRevision}); read the range afresh and watch from after it.",
                    Kv.CompactRevision);
                return false;
            }

            var key = (watcher.RangeKey, watcher.NextRevision, Kv.Revision);
            if (!_batches.TryGetValue(key, out var batch))
            {
                _watchBatch.Clear();
                var next = Kv.EventsFrom(watcher.NextRevision, watcher.Range, _watchBatch, _options.WatchBatchEventsMax, _options.WatchBatchBytesMax);
                batch = ([.. _watchBatch], next);
                if (_batches.Count >= WatchBatchesRemembered)
                {
                    _batches.Clear();
                }

                _batches[key] = batch;
            }

            if (batch.Events.Length > 0)
            {
                watcher.Sink.Deliver(watcher.WatchId, batch.Events, Kv.Revision);
                watcher.LastSentTick = Core.CurrentTick;
            }

            watcher.NextRevision = batch.Next;
        }

        return true;
    }

    /// <summary>Batches one pass remembers (it starts afresh past it).</summary>
    private const int WatchBatchesRemembered = 1024;

    private sealed class Watcher(IWatchSink sink, long watchId, KvRange range, bool progressNotify, string? user, WatchSignIn? signIn)
    {
        /// <summary>The range's bounds as one string, so that watchers of the same range share batches.</summary>
        public string RangeKey { get; } = Convert.ToBase64String(range.From) + "|" + Convert.ToBase64String(range.To);

        public IWatchSink Sink { get; } = sink;

        public long WatchId { get; } = watchId;

        public KvRange Range { get; } = range;

        public bool ProgressNotify { get; } = progressNotify;

        /// <summary>The user it was opened by (null: none named), checked again whenever users or roles change.</summary>
        public string? User { get; } = user;

        /// <summary>How the user proved who it is when the stream opened (null: the name alone is judged).</summary>
        public WatchSignIn? SignIn { get; } = signIn;

        /// <summary>The first revision whose changes it has not been sent.</summary>
        public long NextRevision { get; set; }

        public long LastSentTick { get; set; }
    }
}
