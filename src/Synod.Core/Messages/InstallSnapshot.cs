namespace Synod.Core.Messages;

/// <summary>The state machine as of SnapshotSlot, sent instead of slots the sender has compacted away.</summary>
public sealed record InstallSnapshot(int From, int To, long SnapshotSlot, byte[] Data) : Message(From, To);
