namespace Synod.Explorer;

/// <summary>Which episodes the interrupted-election search tries between the interruption and the reconnections, and how reconnections go.</summary>
[Flags]
public enum EpisodeMenu
{
    None = 0,

    /// <summary>A replica loses its disk and rebuilds while the others run (at most DiskLossesMax).</summary>
    LoseDisk = 1,

    /// <summary>A replica crashes and restarts while the others run (at most CrashesMax).</summary>
    Crash = 2,

    /// <summary>A client command is chosen by the others, with one of them left out or none (at most Slots commands in all).</summary>
    Write = 4,

    /// <summary>The others run with one of them left out or none, without a command.</summary>
    Run = 8,

    /// <summary>A replica snapshots its state machine (at most SnapshotsMax).</summary>
    Snapshot = 16,

    /// <summary>Reconnections may also skip the wait: the peer still hears its leader when the candidate's messages reach it.</summary>
    Exchange = 32,

    All = LoseDisk | Crash | Write | Run | Snapshot | Exchange,
}
