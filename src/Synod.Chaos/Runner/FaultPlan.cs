namespace Synod.Chaos;

/// <summary>
/// One fault the planner chose. <see cref="Victims"/> are the replicas it takes out (for a partition, the cut-off
/// side, or every replica when no side keeps a majority). <see cref="HoldSeconds"/> is how long until recovery, per
/// victim for kills, and <see cref="Groups"/> the sides of a partition: with <see cref="OneWay"/>, only traffic
/// from the first group to the second is dropped; otherwise every pair of groups is cut both ways. A loss drops
/// <see cref="LossPercent"/> % of the packets each victim sends and receives; a delay holds them <see cref="DelayMs"/> ms.
/// </summary>
public sealed record FaultPlan(
    FaultKind Kind,
    IReadOnlyList<int> Victims,
    bool Majority,
    IReadOnlyList<double> HoldSeconds,
    bool OneWay = false,
    IReadOnlyList<IReadOnlyList<int>>? Groups = null,
    int LossPercent = 0,
    int DelayMs = 0);
