namespace Synod.Core.Messages;

/// <summary>
/// A message between two replicas' cores. The shell carries it; the core never learns how.
/// Slot values are batches of opaque client commands; an empty batch is a no-op.
/// </summary>
public abstract record Message(int From, int To);
