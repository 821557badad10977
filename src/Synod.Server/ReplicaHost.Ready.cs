using Microsoft.Extensions.Logging;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Synod.Driver;
using Synod.Kv;
using Synod.Storage;

namespace Synod.Server;

/// <summary>
/// The shell's side of the driver's Readies: the WAL, the peer links, threads for snapshots, and the log lines.
/// Group commit: while one fsync runs, inputs queue up; the loop then steps them all and makes their records durable
/// with the next single fsync. Snapshots the replica takes itself are serialised and written on other threads while
/// the loop goes on serving (the log still holds everything they cover); a snapshot installed from a peer is made
/// durable inside Append, in order, since nothing else on disk holds what it covers, but its file is written and
/// synced beside the restore and Append only publishes it (<see cref="IReplicaLog.PrepareInstall"/>).
/// </summary>
public sealed partial class ReplicaHost
{
    private Task? _snapshotWriting;
    private SnapshotWrite? _snapshotInFlight;
    private double _snapshotSerializeMs;
    private long _snapshotStarted;

    /// <summary>When the snapshot being installed was whole, and its size (IReplicaEvents.SnapshotInstalling).</summary>
    private (long Started, long Bytes) _installing;

    /// <summary>While a snapshot arrives from a peer, a line every this many milliseconds says how much is in.</summary>
    internal const int SnapshotProgressLogMs = 5_000;

    /// <summary>The transfer last seen (source, slot and the core's tick it began), when it was first seen, and when its progress was last logged.</summary>
    private (int From, long Slot, long StartedTick) _transferSeen;

    private long _transferStarted;
    private long _transferLogged;

    /// <summary>When a transfer's first line was last written, and the transfers begun since whose first lines were not (at most one per SnapshotProgressLogMs).</summary>
    private long _transferBeginLogged;

    private int _transferBeginsUnlogged;

    /// <summary>
    /// Says when a snapshot begins to arrive from a peer, and every <see cref="SnapshotProgressLogMs"/> how much is in
    /// and how fast (a stalled transfer says so by not moving): at a gigabyte a catch-up takes long enough that an
    /// operator wants to see it move, as etcd's "receiving database snapshot" lines do.
    /// </summary>
    private void LogSnapshotTransfer()
    {
        if (_driver.Core.IncomingSnapshotProgress is not { } progress)
        {
            return;
        }

        var now = TimeProvider.System.GetTimestamp();
        if ((progress.From, progress.Slot, progress.StartedTick) != _transferSeen)
        {
            (_transferSeen, _transferStarted, _transferLogged) = ((progress.From, progress.Slot, progress.StartedTick), now, now);
            if (_transferBeginLogged != 0 && TimeProvider.System.GetElapsedTime(_transferBeginLogged, now).TotalMilliseconds < SnapshotProgressLogMs)
            {
                // A peer that starts transfer after transfer (a faulty one can) gets one line per interval, not one per message.
                _transferBeginsUnlogged++;
                return;
            }

            var others = _transferBeginsUnlogged == 0 ? "" : $"; {_transferBeginsUnlogged} other transfer(s) began since the last such line";
            (_transferBeginLogged, _transferBeginsUnlogged) = (now, 0);
            _logger.LogInformation("replica {Id}: receiving the snapshot at slot {Slot} from replica {From} ({MiB:F0} MiB{Others})",
                Id, progress.Slot, progress.From, progress.TotalBytes / 1048576.0, others);
            return;
        }

        if (TimeProvider.System.GetElapsedTime(_transferLogged, now).TotalMilliseconds < SnapshotProgressLogMs)
        {
            return;
        }

        _transferLogged = now;
        var seconds = TimeProvider.System.GetElapsedTime(_transferStarted, now).TotalSeconds;
        _logger.LogInformation(
            "replica {Id}: received {ReceivedMiB:F0} of {MiB:F0} MiB ({Percent:F0}%) of the snapshot at slot {Slot} from replica {From} in {Seconds:F0} s, {MBps:F0} MB/s",
            Id, progress.ReceivedBytes / 1048576.0, progress.TotalBytes / 1048576.0, 100.0 * progress.ReceivedBytes / Math.Max(1, progress.TotalBytes),
            progress.Slot, progress.From, seconds, progress.ReceivedBytes / 1e6 / Math.Max(seconds, 1e-3));
    }

    /// <summary>How the snapshot at <paramref name="slot"/> arrived, if it came from a peer in this process's life: for the installed line.</summary>
    private string TransferText(long slot, long bytes)
    {
        if (_transferSeen.Slot != slot || _transferStarted == 0)
        {
            return "";
        }

        var seconds = TimeProvider.System.GetElapsedTime(_transferStarted, _installing.Started).TotalSeconds;
        return $"; received from replica {_transferSeen.From} in {seconds:F1} s, {bytes / 1e6 / Math.Max(seconds, 1e-3):F0} MB/s";
    }

    private void Process()
    {
        _driver.Process();
        Metrics.SnapshotMemoryHeld(_driver.SnapshotMemoryHeldBytes);
        Volatile.Write(ref _knownLeaderId, (uint)_driver.KnownLeaderId);
        Volatile.Write(ref _auth, _driver.Kv.Auth);
        Volatile.Write(ref _stateLoaded, true);
    }

    long IReplicaLog.BytesSinceSnapshot => _storage.BytesSinceSnapshot;

    bool IReplicaLog.SnapshotBusy => _snapshotWriting is not null || _storage.HasPendingSnapshot;

    (long Slot, ReadOnlyMemory<byte> Data)? IReplicaLog.TakeStoredSnapshot() => _storage.TakeStoredSnapshot();

    bool IReplicaLog.HoldsSnapshotBytes(ReadOnlyMemory<byte> data) => _storage.HoldsSnapshotBytes(data);

    /// <summary>The file of a snapshot installed from a peer, being written beside its restore (<see cref="IReplicaLog.PrepareInstall"/>).</summary>
    private Task? _installWriting;

    void IReplicaLog.PrepareInstall(SnapshotOp snapshot)
    {
        WaitForInstallWrite();
        if (_storage.PrepareInstall(snapshot) is { } write)
        {
            _installWriting = Task.Factory.StartNew(write.WriteTemporary, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Waits for the prepared file's write, on the owner loop, before anything else is appended (the storage publishes
    /// it in the append's order). A failure is only logged: the append then writes the file itself, and a disk that
    /// fails again fails the loop there, as any append does.
    /// </summary>
    private void WaitForInstallWrite()
    {
        if (_installWriting is not { } writing)
        {
            return;
        }

        _installWriting = null;
        try
        {
            writing.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StorageException)
        {
            _logger.LogWarning("replica {Id}: writing the installed snapshot's file beside its restore failed ({Error}); it is written again in order", Id, e.Message);
        }
    }

    /// <summary>
    /// The core's rule: whatever a message promises is durable before the message leaves, so a Ready that needs it is
    /// synced here, before the driver sends. Records of what is already chosen promise nothing: they are written now
    /// and made durable by the next fsync, so a commit is answered without waiting for a disk.
    /// </summary>
    bool IReplicaLog.Write(IReadOnlyList<PersistOp> ops, long? syncToken)
    {
        WaitForInstallWrite();
        _storage.Append(ops);
        if (syncToken is not null)
        {
            var (syncs, started) = (_storage.Syncs, TimeProvider.System.GetTimestamp());
            _storage.Sync();
            if (_storage.Syncs != syncs)
            {
                var fsync = TimeProvider.System.GetElapsedTime(started);
                Metrics.FsyncSeconds.Record(fsync.TotalSeconds, Metrics.Replica);
                Metrics.RecentFsyncs.Record(fsync.TotalMilliseconds);
            }

            StartSnapshotWrite();
        }

        return true;
    }

    void IPeerOutbox.Send(IReadOnlyList<Message> messages) => _peers.Send(messages);

    /// <summary>
    /// Serialises the frozen state beside the loop (<see cref="RunBeside"/>) into memory outside the collected heap
    /// (<see cref="SnapshotMemory"/>); the loop hears back through a SnapshotSerializedInput.
    /// </summary>
    void IBackgroundWork.SerializeSnapshot(KvStateMachine stateMachine, KvSnapshotJob job)
    {
        _snapshotStarted = TimeProvider.System.GetTimestamp();
        SnapshotMemory? memory = null;
        _ = RunBeside(
            () => job.Serialize(bytes => (memory = new SnapshotMemory(bytes)).Memory),
            failure => new SnapshotSerializedInput(stateMachine, job, memory, failure));
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a thread of its own (LongRunning), not a pool thread: serialising, writing or
    /// deleting a large state takes seconds, and the owner loop, the peer links and the client handlers all run on the
    /// pool, which on a small machine has few threads. The loop hears back through the input <paramref name="done"/>
    /// makes of the work's failure (null if none).
    /// </summary>
    private Task RunBeside(Action work, Func<Exception?, HostInput> done) => Task.Factory.StartNew(() =>
    {
        Exception? failure = null;
        try
        {
            work();
        }
        catch (Exception e)
        {
            failure = e;
        }

        _inputs.Writer.TryWrite(done(failure));
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Raised on the owner loop at every change of this replica's role, with the role taken and the core's reason.</summary>
    public event Action<string, string>? RoleChangedWithReason;

    void IReplicaEvents.RoleChanged(ReplicaRole role)
    {
        Metrics.RoleChanges.Add(1, Metrics.Replica, new("role", role.ToString().ToLowerInvariant()), new("reason", ReplicaMetrics.ReasonKind(_driver.Core.RoleReason)));
        RoleChangedWithReason?.Invoke(role.ToString().ToLowerInvariant(), _driver.Core.RoleReason);
        _logger.LogInformation("replica {Id}: now {Role} (ballot {Ballot}, promised {Promised}, commit index {Commit}): {Reason}",
            Id, role.ToString().ToLowerInvariant(), _driver.Core.Ballot, _driver.Core.Promised, _driver.Core.CommitIndex, _driver.Core.RoleReason);
    }

    /// <summary>One line per failed candidacy: they come at most once per election timeout.</summary>
    void IReplicaEvents.CandidacyFailed(string reason)
    {
        Metrics.CandidaciesFailed.Add(1, Metrics.Replica);
        _logger.LogInformation("replica {Id}: {Failure}", Id, reason);
    }

    void IReplicaEvents.Applied(long slot, byte[][] commands)
    {
        Metrics.SlotsApplied.Add(1, Metrics.Replica);
        Metrics.CommandsPerSlot.Record(commands.Length, Metrics.Replica);
    }

    void IReplicaEvents.Handover(bool started, string line) =>
        _logger.LogInformation("replica {Id}: {Handover}", Id, started ? line : "handover given up: " + line);

    void IReplicaEvents.SnapshotInstalling(long slot, long bytes) => _installing = (TimeProvider.System.GetTimestamp(), bytes);

    void IReplicaEvents.SnapshotInstalled(long slot, int keys, ReplicaRole roleWhenInstalled)
    {
        Metrics.SnapshotsInstalled.Add(1, Metrics.Replica);

        // How long the owner loop spent on the state machine once the snapshot was whole (read, or every chunk in): at
        // millions of keys, seconds, which a catch-up's or a restart's time is otherwise hard to split by.
        _logger.LogInformation("replica {Id}: installed a snapshot at slot {Slot} ({Keys} keys, {MiB:F0} MiB; its state machine took {Seconds:F1} s{Transfer})",
            Id, slot, keys, _installing.Bytes / 1048576.0, TimeProvider.System.GetElapsedTime(_installing.Started).TotalSeconds, TransferText(slot, _installing.Bytes));
    }

    void IReplicaEvents.SnapshotTaken(long slot, double serializeMs) => _snapshotSerializeMs = serializeMs;

    void IReplicaEvents.SnapshotTooLarge(long slot, long bytes, long limit)
    {
        Metrics.SnapshotsTooLarge.Add(1, Metrics.Replica);
        _logger.LogError(
            "replica {Id}: the snapshot at slot {Slot} is {Bytes} bytes, over the {Limit} bytes a snapshot may have: it was not taken, so the log is kept and grows (on disk and in memory), and a lagging or new replica is sent the last snapshot taken and all the log after it; delete keys and compact the history until the state is smaller (docs/performance.md, \"The largest state\")",
            Id, slot, bytes, limit);
    }

    /// <summary>Hands the pending snapshot, if any, to another thread; the loop hears back through a SnapshotWrittenInput.</summary>
    private void StartSnapshotWrite()
    {
        if (_snapshotInFlight is not null || _storage.TakePendingSnapshot() is not { } write)
        {
            return;
        }

        _snapshotInFlight = write;
        _snapshotWriting = RunBeside(write.Run, failure => new SnapshotWrittenInput(write, failure));
    }

    private void FinishSnapshotWrite(SnapshotWrittenInput written)
    {
        if (ReferenceEquals(written.Write, _snapshotInFlight))
        {
            CompleteSnapshotWrite(written.Write, written.Failure);
            StartSnapshotWrite();
        }
    }

    private Task? _cleanupRunning;
    private int _ticksCleanupWaited;

    /// <summary>A checkpoint's sync waits this many ticks for the log's own next sync before a tick makes one.</summary>
    private const int CleanupSyncWaitTicksMax = 100;

    /// <summary>Deletes the files compactions let go on another thread, once the checkpoint that supersedes them is durable.</summary>
    private void StartCleanup()
    {
        if (_cleanupRunning is not null || _storage.TakeCleanup() is not { } cleanup)
        {
            return;
        }

        _cleanupRunning = RunBeside(cleanup.Run, failure => new CleanupDoneInput(cleanup, failure));
    }

    private void FinishCleanup(CleanupDoneInput done)
    {
        _cleanupRunning = null;
        if (done.Failure is not null)
        {
            // Nothing is lost (the files were superseded), but a disk that cannot delete will soon fail the log too.
            throw new StorageException($"Deleting {done.Cleanup.Segments.Count} superseded WAL segments and {done.Cleanup.Snapshots.Count} older snapshots failed: {done.Failure.Message}", done.Failure);
        }

        _storage.CompleteCleanup(done.Cleanup);
        StartCleanup();
    }

    /// <summary>
    /// Every tick: starts a cleanup that has become due (within a tick of the sync that made it so, with no check on the
    /// WAL's own path), and since a replica with nothing to sync would keep superseded files for ever, after
    /// CleanupSyncWaitTicksMax ticks without a sync of its own the log is synced here (one fsync of the checkpoint,
    /// on an idle loop).
    /// </summary>
    private void SyncForCleanupWhenIdle()
    {
        if (!_storage.CleanupWaitsForSync)
        {
            _ticksCleanupWaited = 0;
            StartCleanup();
            return;
        }

        if (++_ticksCleanupWaited >= CleanupSyncWaitTicksMax)
        {
            _storage.Sync();
            _ticksCleanupWaited = 0;
            StartCleanup();
        }
    }

    private void CompleteSnapshotWrite(SnapshotWrite write, Exception? failure)
    {
        _snapshotInFlight = null;
        _snapshotWriting = null;
        if (failure is not null)
        {
            // The log still holds everything, but a disk that cannot take a snapshot will soon fail the log too.
            throw new StorageException($"Writing the snapshot of slot {write.Slot} to {write.Path} failed: {failure.Message}", failure);
        }

        _storage.CompleteSnapshot(write);
        StartCleanup();
        Metrics.SnapshotWritten(write.DataBytes, TimeProvider.System.GetElapsedTime(_snapshotStarted).TotalSeconds);
        _logger.LogInformation(
            "replica {Id}: snapshot at slot {Slot} written ({Bytes} bytes; {SerializeMs:F0} ms to serialise and {TotalMs:F0} ms in all, on other threads while serving); the log is now {Segments} segments, {WalBytes} bytes",
            Id, write.Slot, write.DataBytes, _snapshotSerializeMs, TimeProvider.System.GetElapsedTime(_snapshotStarted).TotalMilliseconds, _storage.SegmentCount, _storage.WalBytes);
    }
}
