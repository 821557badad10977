namespace Synod.Explorer;

/// <summary>Fault kinds the explorer may interleave with ordinary steps (--faults).</summary>
[Flags]
public enum ExplorerFaults
{
    None = 0,

    /// <summary>A replica crashes and restarts at once: volatile state and unsynced records are lost, synced ones kept.</summary>
    Crash = 1,

    /// <summary>A message in flight is lost.</summary>
    Drop = 2,

    /// <summary>A message in flight is delivered and stays in flight, to be delivered again.</summary>
    Duplicate = 4,

    /// <summary>A replica loses its disk and restarts rebuilding from its peers (a non-voter until it may vote again).</summary>
    DiskLoss = 8,

    /// <summary>A replica takes a snapshot at its applied slot and compacts its log (peers behind it then install it).</summary>
    Snapshot = 16,
}
