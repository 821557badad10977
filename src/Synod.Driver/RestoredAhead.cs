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
/// when taken), so that it runs this path.
/// </summary>
public sealed class RestoredAhead
{
    private ReadOnlyMemory<byte> _data;
    private Func<KvStateMachine>? _restored;

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
    /// The state machine offered for exactly <paramref name="data"/> (the same memory, not only equal bytes), or null if
    /// none was or it was offered for other memory; either way nothing offered is held afterwards.
    /// </summary>
    public KvStateMachine? Take(ReadOnlyMemory<byte> data)
    {
        if (UncheckedBug)
        {
            return _restored?.Invoke();
        }

        var restored = data.Equals(_data) ? _restored : null;
        _data = default;
        _restored = null;
        Taken |= restored is not null;
        return restored?.Invoke();
    }
}
