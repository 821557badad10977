namespace Synod.Core;

/// <summary>A chosen slot handed to the shell to apply, in slot order.</summary>
public readonly record struct CommittedEntry(long Slot, byte[][] Commands);
