using System.Runtime.InteropServices;
using Synod.Core;
using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// A state machine restored ahead of the install that needs it. A restarting server restores its stored snapshot on a
/// thread of its own as soon as storage has read it, while the log's segments are read and the server starts, instead
/// of on the owner loop afterwards: at 2.75M keys the restore was about 4 s of a restart, run after the rest with the
/// machine's second core idle (docs/performance.md, "The snapshot restored while the log is read"). The driver asks at
/// every install (<see cref="DriverOptions.RestoredAhead"/>) and gets it only for the very memory it was restored from,
/// once; anything else is restored where it is installed. The host offers it before the driver is made, and the driver
/// takes it on its own thread afterwards. The simulator offers every restarting replica's stored snapshot too (restored
/// when taken), so that it runs this path. A learner's snapshot from a peer is restored ahead too, while its chunks
/// arrive (<see cref="StartArriving"/>): the driver starts that restore itself.
/// </summary>
public sealed class RestoredAhead
{
    private ReadOnlyMemory<byte> _data;
    private Func<KvStateMachine>? _restored;
    private (byte[] Array, ReadOnlyMemory<byte> Shell, ArrivingRestore Restore)? _arrival;

    /// <summary>
    /// How a host restores a snapshot that is still arriving from a peer (a learner's), or null to restore it once whole
    /// where it is installed. Given how many bytes of the core's array are in and the restore (which waits for the bytes
    /// it reads next through the function it is given: a length of the array, returning once that many are in, with how
    /// many are), it starts the restore on a thread of its own. The driver starts one once a transfer's configuration
    /// header is in (<see cref="Replica.SnapshotArriving"/>), so that the restore (4-6 s at 2.75M keys) overlaps the
    /// transfer instead of following it (docs/performance.md, "A learner restores while its snapshot arrives"); the install
    /// of that snapshot takes it (<see cref="Take"/>), and a transfer given up ends it.
    /// </summary>
    public Func<int, Func<Func<int, int>, KvStateMachine>, ArrivingRestore>? StartArriving { get; init; }

    /// <summary>
    /// The bug (the simulator's --arrival-reads-ahead): the restore is told one chunk more has arrived than has, and
    /// reads bytes no chunk has written yet.
    /// </summary>
    public bool ArrivalReadsAheadBug { get; init; }

    /// <summary>Installs that took a state machine restored while its snapshot arrived.</summary>
    public int ArrivalsTaken { get; private set; }

    /// <summary>Restores of snapshots still arriving given up: their transfer was, or the replica stopped.</summary>
    public int ArrivalsAbandoned { get; private set; }

    /// <summary>
    /// Installs of a snapshot whose arrival was being restored that did not take it (memory cut differently from the
    /// core's): each restored it a second time. The simulator fails a run with any.
    /// </summary>
    public int ArrivalsMissed { get; private set; }

    /// <summary>
    /// The bug (the simulator's --restored-ahead-unchecked): what was offered is handed out at every install, whatever
    /// snapshot is installed, and kept. A replica that installs a peer's snapshot after a restart goes back to its own
    /// older one.
    /// </summary>
    public bool UncheckedBug { get; init; }

    /// <summary>Whether an install took what was offered (the server says so when its state is loaded).</summary>
    public bool Taken { get; private set; }

    /// <summary>
    /// Offers the state machine restored from <paramref name="data"/> (a snapshot's shell bytes, as the core hands them
    /// to the driver) by <see cref="ReplicaDriver.RestoreStateMachine"/> with the driver's options;
    /// <paramref name="restored"/> waits for it if it is still being restored, and throws what the restore threw.
    /// </summary>
    public void Offer(ReadOnlyMemory<byte> data, Func<KvStateMachine> restored)
    {
        _data = data;
        _restored = restored;
    }

    /// <summary>
    /// The state machine offered for exactly <paramref name="data"/> (the same memory, not only equal bytes), or restored
    /// while that very memory arrived, or null if neither; either way nothing offered or under way is held afterwards.
    /// </summary>
    public KvStateMachine? Take(ReadOnlyMemory<byte> data)
    {
        if (UncheckedBug && _restored is { } kept)
        {
            AbandonArrival();
            return kept();
        }

        var restored = data.Equals(_data) ? _restored : null;
        _data = default;
        _restored = null;
        Taken |= restored is not null;
        return (restored ?? ArrivalFor(data))?.Invoke();
    }

    /// <summary>
    /// Gives up the restore of a snapshot still arriving, if one is under way: the replica stops (or, simulated,
    /// crashes), and its thread, waiting for bytes that will not come, ends.
    /// </summary>
    public void AbandonArrival()
    {
        if (_arrival is var (_, _, arriving))
        {
            _arrival = null;
            ArrivalsAbandoned++;
            arriving.Abandon();
        }
    }

    /// <summary>The result of the restore under way if it is of <paramref name="data"/>; otherwise it is given up.</summary>
    private Func<KvStateMachine>? ArrivalFor(ReadOnlyMemory<byte> data)
    {
        if (_arrival is not var (array, shell, arriving))
        {
            return null;
        }

        _arrival = null;
        if (data.Equals(shell))
        {
            ArrivalsTaken++;
            return () => arriving.Result(array.Length);
        }

        ArrivalsMissed += MemoryMarshal.TryGetArray(data, out var installed) && installed.Array == array ? 1 : 0;
        ArrivalsAbandoned++;
        arriving.Abandon();
        return null;
    }

    /// <summary>
    /// After each pass of the driver: the snapshot the core is receiving (<see cref="Replica.SnapshotArriving"/>), if
    /// any. Starts restoring a new one once its configuration header is in (taken by the install that names its shell's
    /// memory), tells the one under way how much has arrived, and gives up one the core no longer receives.
    /// </summary>
    internal void Arriving((byte[] Data, int Received)? arriving, int chunkBytes, Func<ReadOnlyMemory<byte>, Func<int, int>, KvStateMachine> restore)
    {
        if (StartArriving is null)
        {
            return;
        }

        if (_arrival is var (current, _, _) && current != arriving?.Data)
        {
            AbandonArrival();
        }

        if (arriving is not var (array, received))
        {
            return;
        }

        var arrived = ArrivalReadsAheadBug ? Math.Min(array.Length, received + chunkBytes) : received;
        if (_arrival is var (_, _, underWay))
        {
            underWay.Arrived(arrived);
            return;
        }

        var shellStart = Replica.SnapshotShellStart(array.AsSpan(0, arrived));
        if (shellStart < 0)
        {
            return;
        }

        var shell = (ReadOnlyMemory<byte>)array.AsMemory(shellStart);
        var started = StartArriving(arrived, waitFor => restore(shell, end => waitFor(shellStart + end) - shellStart));
        _arrival = (array, shell, started);
    }
}
