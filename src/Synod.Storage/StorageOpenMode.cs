namespace Synod.Storage;

/// <summary>How <see cref="ReplicaStorage.Open"/> treats the data directory it is given.</summary>
public enum StorageOpenMode
{
    /// <summary>The directory must already hold this replica's Synod state; anything else is refused.</summary>
    Existing,

    /// <summary>
    /// An empty or missing directory becomes a fresh member of a brand-new cluster (an acceptor that has promised
    /// nothing); a directory that already holds state is simply opened. (<c>./synod serve ... --new-cluster</c>)
    /// </summary>
    NewCluster,

    /// <summary>
    /// Whatever state the directory holds is moved aside into <c>discarded-&lt;n&gt;</c>, and a fresh log starts with
    /// a <see cref="Core.Persistence.RebuildOp"/>: the replica rejoins as a non-voter. (<c>--rebuild-from-peers</c>)
    /// </summary>
    RebuildFromPeers,
}
