using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// Where a watch stream's answers go: one sink per stream, shared by its watchers. The driver calls it on its own
/// thread, in revision order per watcher; the shell queues what it is given for the client, within a bound.
/// </summary>
public interface IWatchSink
{
    /// <summary>
    /// True while the sink's queue is under its bound. The driver delivers nothing more while it is false: the
    /// watchers behind it fall back to the history and catch up from it once there is room.
    /// </summary>
    bool HasRoom { get; }

    /// <summary>The watch is registered: it reports every change in its range from <paramref name="startRevision"/> on.</summary>
    void Created(long watchId, long startRevision, long revision);

    /// <summary>Changes of whole revisions, in order; a transaction's changes come together.</summary>
    void Deliver(long watchId, IReadOnlyList<KvEvent> events, long revision);

    /// <summary>The watcher has been sent every change in its range up to <paramref name="revision"/>.</summary>
    void Progress(long watchId, long revision);

    /// <summary>The stream's progress request has been answered (a stream asks one at a time).</summary>
    void ProgressRequestAnswered();

    /// <summary>
    /// The watch was refused or ended because its user may not (or may no longer) read its range; <paramref name="reason"/>
    /// names the user and the range.
    /// </summary>
    void Denied(long watchId, string reason);

    /// <summary>The watch ended: cancelled, or compacted (then <paramref name="compactRevision"/> is the oldest revision kept).</summary>
    void Canceled(long watchId, string reason, long compactRevision);
}
