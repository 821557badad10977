namespace Synod.Core.Persistence;

/// <summary>A slot as it stands on disk: the last accepted value and ballot, or a value learned chosen (Ballot zero).</summary>
public sealed record DurableEntry(Ballot Ballot, byte[][] Commands, bool Chosen);
