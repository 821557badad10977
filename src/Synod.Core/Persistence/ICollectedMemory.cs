namespace Synod.Core.Persistence;

/// <summary>
/// Marks a <see cref="System.Buffers.MemoryManager{T}"/> whose bytes stay readable for as long as anything refers to
/// it, the collector deciding when they go (a mapped snapshot file, unmapped only after it is collected), and are never
/// written: slices of it may be kept for good. Memory freed by hand (a serialised snapshot outside the collected heap)
/// must not carry it.
/// </summary>
public interface ICollectedMemory;
