namespace Synod.Core.Messages;

/// <summary>
/// One chunk of a peer's snapshot (the state machine as of SnapshotSlot), for a learner that asked for slots the peer
/// has compacted away. A request is answered with a window of SnapshotChunksInFlight chunks from the offset it names
/// (the learner asks for the next window once this one arrived), which bounds every message by SnapshotChunkBytes and
/// paces the transfer to what the learner takes in. The chunk is a view of the sender's snapshot, which is never
/// changed once taken; a received chunk owns its bytes.
/// </summary>
public sealed record InstallSnapshot(int From, int To, long SnapshotSlot, long Offset, long TotalBytes, ReadOnlyMemory<byte> Chunk) : Message(From, To);
