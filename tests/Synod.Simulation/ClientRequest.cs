using Synod.Checker;

namespace Synod.Simulation;

/// <summary>A simulated client's request to a replica. Attempt tells a late reply from a current one.</summary>
public sealed record ClientRequest(int Client, long Attempt, ulong ClientId, ulong Sequence, OperationKind Kind, string Key, string? Value);
