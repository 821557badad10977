namespace Synod.Kv;

/// <summary>
/// What the state machine remembers about one client so that a retried command is applied once and answered as the
/// first time: the last applied sequence, its result, the revision it left (its own, for a change) and its key's
/// revisions and version as it answered them (all 0: the key was absent), and the slot in which the session was last
/// used (for LRU eviction).
/// </summary>
internal readonly record struct ClientSession(
    ulong LastSequence, KvStatus LastStatus, long LastUsedSlot, long LastRevision, long LastCreateRevision = 0, long LastModRevision = 0, long LastVersion = 0)
{
    /// <summary>The key's fields of the answer kept, as an entry without its value; null when the key was absent.</summary>
    public KvEntry? LastEntry => LastVersion == 0 ? null : new KvEntry(ReadOnlyMemory<byte>.Empty, LastCreateRevision, LastModRevision, LastVersion);
}
