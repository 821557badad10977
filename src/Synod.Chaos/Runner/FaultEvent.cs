namespace Synod.Chaos;

/// <summary>
/// One line of the fault timeline: what was done to which replicas, when (seconds on the run clock).
/// <see cref="Kind"/> is a fault ("kill", "pause", "wipe", "partition"), a recovery ("restart", "resume", "heal"),
/// or an observation ("exit": a replica stopped without being killed; "leader": a new leader).
/// </summary>
/// <param name="Majority">True when the fault took out a majority, so that writes must stop until it ends.</param>
public sealed record FaultEvent(double Time, string Kind, IReadOnlyList<int> Replicas, bool Majority, string Detail);
