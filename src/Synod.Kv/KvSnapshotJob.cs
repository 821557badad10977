namespace Synod.Kv;

/// <summary>
/// A snapshot of a <see cref="KvStateMachine"/> frozen at <see cref="Slot"/> by <see cref="KvStateMachine.BeginSnapshot"/>.
/// <see cref="Serialize"/> may run on any thread, once; then the owner calls <see cref="KvStateMachine.EndSnapshot"/>.
/// </summary>
public sealed class KvSnapshotJob
{
    private readonly Func<Func<int, Memory<byte>>, Memory<byte>> _serialize;

    internal KvSnapshotJob(KvStateMachine owner, long slot, int prefixBytes, Func<Func<int, Memory<byte>>, Memory<byte>> serialize)
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
    public byte[] Serialize() => KvStateMachine.WholeArray(_serialize(KvStateMachine.AllocateArray));

    /// <summary>
    /// <see cref="Serialize()"/> into memory of the caller's: <paramref name="allocate"/> is asked once, for exactly the
    /// snapshot's bytes, after the state was measured (not at all when it is too large). A state hundreds of megabytes
    /// large serialised into the collected heap is a large-object allocation that starts a full blocking collection.
    /// </summary>
    public Memory<byte> Serialize(Func<int, Memory<byte>> allocate)
    {
        ArgumentNullException.ThrowIfNull(allocate);
        return _serialize(allocate);
    }
}
