namespace Synod.Kv;

/// <summary>
/// A snapshot of a <see cref="KvStateMachine"/> frozen at <see cref="Slot"/> by <see cref="KvStateMachine.BeginSnapshot"/>.
/// <see cref="Serialize"/> may run on any thread, once; then the owner calls <see cref="KvStateMachine.EndSnapshot"/>.
/// </summary>
public sealed class KvSnapshotJob
{
    private readonly Func<byte[]> _serialize;

    internal KvSnapshotJob(KvStateMachine owner, long slot, int prefixBytes, Func<byte[]> serialize)
    {
        Owner = owner;
        Slot = slot;
        PrefixBytes = prefixBytes;
        _serialize = serialize;
    }

    /// <summary>The slot the snapshot is of: the last one applied when it began.</summary>
    public long Slot { get; }

    internal KvStateMachine Owner { get; }

    /// <summary>The bytes of the prefix given to <see cref="KvStateMachine.BeginSnapshot"/> that the serialised array starts with.</summary>
    public int PrefixBytes { get; }

    /// <summary>The prefix, then the snapshot's bytes: the same as <see cref="KvStateMachine.Snapshot"/> at the begin would give.</summary>
    public byte[] Serialize() => _serialize();
}
