namespace Synod.Explorer;

/// <summary>One step of a schedule: its kind, the replica it acts on, and for message steps the message's place in flight.</summary>
public readonly record struct Step(StepKind Kind, int Replica, int Message = -1);
