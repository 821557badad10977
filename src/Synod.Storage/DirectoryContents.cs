namespace Synod.Storage;

/// <summary>What a data directory holds, as <see cref="ReplicaStorage.Open"/> sees it before choosing what to do.</summary>
internal enum DirectoryContents
{
    /// <summary>Nothing of Synod's (a missing directory, or only a LOCK, empty wal/ and snap/ directories, discarded-n).</summary>
    Empty,

    /// <summary>synod.meta is present: an initialised directory, to be recovered.</summary>
    Initialised,

    /// <summary>Format 1's paxos.log and no synod.meta.</summary>
    OldLayout,

    /// <summary>Segments or snapshots with data but no synod.meta: an initialisation that did not finish, or damage.</summary>
    Partial,
}
