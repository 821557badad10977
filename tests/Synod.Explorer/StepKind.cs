namespace Synod.Explorer;

/// <summary>One kind of step in a schedule.</summary>
public enum StepKind
{
    /// <summary>Ticks of one replica until it sends a message not already in flight or changes role, at most TimeoutTicksMax.</summary>
    Timeout,

    /// <summary>A client command handed to one replica.</summary>
    Propose,

    /// <summary>A message in flight delivered to its receiver.</summary>
    Deliver,

    /// <summary>A message in flight lost.</summary>
    Drop,

    /// <summary>A message in flight delivered, and kept in flight.</summary>
    Duplicate,

    /// <summary>A replica crashes and restarts from what its disk holds.</summary>
    Crash,

    /// <summary>A replica loses its disk and restarts rebuilding.</summary>
    DiskLoss,

    /// <summary>A replica snapshots its state machine and compacts its log.</summary>
    Snapshot,
}
