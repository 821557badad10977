namespace Synod.Core.Messages;

/// <summary>
/// One chunk of a peer's snapshot (the state machine as of SnapshotSlot), for a learner that asked for slots the peer
/// has compacted away. Chunks go one per request (the learner asks for the next offset), which bounds every message
/// by SnapshotChunkBytes and paces the transfer to what the learner takes in.
/// </summary>
public sealed record InstallSnapshot(int From, int To, long SnapshotSlot, long Offset, long TotalBytes, byte[] Chunk) : Message(From, To);
