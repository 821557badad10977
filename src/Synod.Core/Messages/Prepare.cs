namespace Synod.Core.Messages;

/// <summary>
/// Phase 1a: "promise me ballot B for every slot from FromSlot on, and tell me what you accepted there".
/// <paramref name="Handover"/>: the sender stands because the leader handed leadership to it (a <see cref="TimeoutNow"/>),
/// so a replica that still hears that leader answers at once instead of deferring (liveness only).
/// </summary>
public sealed record Prepare(int From, int To, Ballot Ballot, long FromSlot, bool Handover = false) : Message(From, To);
