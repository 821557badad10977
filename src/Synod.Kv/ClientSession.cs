namespace Synod.Kv;

/// <summary>
/// What the state machine remembers about one client so that a retried command is applied once: the last applied
/// sequence, its result and the revision it left (its own, for a change), and the slot in which the session was last
/// used (for LRU eviction).
/// </summary>
internal readonly record struct ClientSession(ulong LastSequence, KvStatus LastStatus, long LastUsedSlot, long LastRevision);
