using Synod.Core.Persistence;

namespace Synod.Simulation;

/// <summary>
/// A replica's simulated disk: what was synced survives a crash, what was only written does not.
/// The synced state is kept folded, as a restart would read it back.
/// </summary>
public sealed class SimDisk
{
    private readonly List<PersistOp> _unsynced = [];

    public DurableState Synced { get; private set; } = new();

    /// <summary>The disk is replaced by an empty one: the replica restarts rebuilding from its peers, a non-voter.</summary>
    public void Wipe()
    {
        _unsynced.Clear();
        Synced = new DurableState();
        Synced.Apply(new RebuildOp());
    }

    public void Write(IEnumerable<PersistOp> ops) => _unsynced.AddRange(ops);

    /// <summary>Makes the first <paramref name="count"/> written ops durable (fsync completes in write order).</summary>
    public void Sync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Synced.Apply(_unsynced[i]);
        }

        _unsynced.RemoveRange(0, count);
    }

    /// <summary>A crash: every unsynced write is lost. Returns how many.</summary>
    public int Crash()
    {
        var lost = _unsynced.Count;
        _unsynced.Clear();
        return lost;
    }
}
