namespace Synod.Chaos;

/// <summary>A run at one moment, for the live display; <see cref="TimeLeft"/> is null outside the fault phase.</summary>
public sealed record ChaosProgress(
    string Phase,
    double Elapsed,
    double? TimeLeft,
    IReadOnlyList<ReplicaView> Replicas,
    int? Leader,
    int Ok,
    int Failed,
    int Unknown,
    FaultCounts Faults,
    string Network,
    FaultEvent? LastEvent);
