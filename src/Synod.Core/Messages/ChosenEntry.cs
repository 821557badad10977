namespace Synod.Core.Messages;

/// <summary>A slot known chosen, with its value.</summary>
public readonly record struct ChosenEntry(long Slot, byte[][] Commands);
