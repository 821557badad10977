namespace Synod.Chaos;

/// <summary>One replica as the live display shows it: what the runner did to it and what its last heartbeat said.</summary>
public sealed record ReplicaView(int Id, ReplicaRunState State, bool Serving, string Role, bool Rebuilding, bool CutOff, ulong AppliedSlot, int? ProcessId);
