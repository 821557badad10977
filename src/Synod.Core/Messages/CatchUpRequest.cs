namespace Synod.Core.Messages;

/// <summary>
/// A learner asks a peer for chosen slots from FromSlot on. While it receives that peer's snapshot it also names the
/// snapshot's slot and the offset of the next chunk it needs (zero otherwise). SnapshotChunks is how many chunks it
/// wants sent for this request, should the peer answer with its snapshot (0, from a build before windows: one).
/// </summary>
public sealed record CatchUpRequest(int From, int To, long FromSlot, long SnapshotSlot = 0, long SnapshotOffset = 0, int SnapshotChunks = 0) : Message(From, To);
