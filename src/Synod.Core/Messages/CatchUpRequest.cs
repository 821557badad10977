namespace Synod.Core.Messages;

/// <summary>
/// A learner asks a peer for chosen slots from FromSlot on. While it receives that peer's snapshot it also names the
/// snapshot's slot and the offset of the next chunk it needs (zero otherwise).
/// </summary>
public sealed record CatchUpRequest(int From, int To, long FromSlot, long SnapshotSlot = 0, long SnapshotOffset = 0) : Message(From, To);
