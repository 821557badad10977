using Synod.Protocol;

namespace Synod.Cli;

/// <summary>One replica's line of `synod status`, and one object of `synod status --json`.</summary>
/// <param name="Id">The replica id from the cluster file or --endpoints.</param>
/// <param name="Endpoint">Where it listens (host:port).</param>
/// <param name="Up">True if it answered.</param>
/// <param name="Role">"leader", "candidate" or "follower"; null when down.</param>
/// <param name="Ballot">Its current ballot; null when down.</param>
/// <param name="CommitIndex">The highest slot it knows chosen.</param>
/// <param name="AppliedSlot">The last slot it applied.</param>
/// <param name="Lag">Slots it still has to apply: the highest commit index it heard of minus its applied slot.</param>
/// <param name="Pid">Its process id: from cluster.json when recorded there, else as the replica reports it.</param>
/// <param name="Leader">True if this replica is the leader.</param>
/// <param name="LeaderId">The leader this replica knows of; null when none or down.</param>
/// <param name="Error">Why it is down, in short ("connection refused"); null when up.</param>
/// <param name="Rebuilding">True while it rejoins after losing its disk: it follows and learns but does not vote; null when down.</param>
/// <param name="Revision">The cluster revision it has applied; null when down.</param>
/// <param name="CompactRevision">The oldest revision a read or watch may ask it for; null when down.</param>
/// <param name="HistoryChanges">The changes its history window holds; null when down.</param>
/// <param name="HistoryBytes">The bytes they count for (bounded by serve --history-bytes); null when down.</param>
/// <param name="Watchers">The watchers it serves; null when down.</param>
/// <param name="Leases">The leases live in its applied state; null when down.</param>
/// <param name="PreferredLeader">From the leader: the voter it would hand over to (serve --preferred-leader), or null.</param>
/// <param name="PreferredLeaderWait">From the leader: why that voter does not lead yet, or null.</param>
/// <param name="DataBytes">The bytes its keys and values take as the write quota counts them; null when down.</param>
/// <param name="QuotaBytes">Its write quota (serve --quota-bytes); null when down (or a build before the quota).</param>
/// <param name="SnapshotFrom">The peer it is receiving a snapshot from (catching up, or rebuilding); null when none or down.</param>
/// <param name="SnapshotReceivedBytes">Of that snapshot, the bytes in so far; null when none.</param>
/// <param name="SnapshotTotalBytes">That snapshot's size; null when none.</param>
/// <param name="WatchQueuedBytes">The bytes its watch streams have queued for their clients (bounded by serve --watch-bytes-max); null when down.</param>
public sealed record StatusRow(
    int Id,
    string Endpoint,
    bool Up,
    string? Role,
    string? Ballot,
    ulong? CommitIndex,
    ulong? AppliedSlot,
    ulong? Lag,
    int? Pid,
    bool Leader,
    int? LeaderId,
    string? Error,
    bool? Rebuilding = null,
    long? Revision = null,
    long? CompactRevision = null,
    ulong? HistoryChanges = null,
    ulong? HistoryBytes = null,
    uint? Watchers = null,
    ulong? WatchQueuedBytes = null,
    ulong? Leases = null,
    string? Http = null,
    int? PreferredLeader = null,
    string? PreferredLeaderWait = null,
    ulong? DataBytes = null,
    ulong? QuotaBytes = null,
    int? SnapshotFrom = null,
    ulong? SnapshotReceivedBytes = null,
    ulong? SnapshotTotalBytes = null)
{
    public const string LeaderRole = "leader";

    public static StatusRow FromResponse(ClusterConfig.ReplicaEntry replica, StatusResponse response) => new(
        replica.Id,
        replica.Endpoint,
        Up: true,
        response.Role,
        response.Ballot,
        response.CommitIndex,
        response.AppliedSlot,
        Lag: response.HighestKnownCommit > response.AppliedSlot ? response.HighestKnownCommit - response.AppliedSlot : 0,
        Pid: replica.ProcessId ?? response.ProcessId,
        Leader: response.Role == LeaderRole,
        LeaderId: response.LeaderId == 0 ? null : (int)response.LeaderId,
        Error: null,
        Rebuilding: response.Rebuilding,
        Revision: response.Revision,
        CompactRevision: response.CompactRevision,
        HistoryChanges: response.HistoryChanges,
        HistoryBytes: response.HistoryBytes,
        Watchers: response.Watchers,
        WatchQueuedBytes: response.WatchQueuedBytes,
        Leases: response.Leases,
        Http: replica.Http,
        PreferredLeader: response.PreferredLeader == 0 ? null : (int)response.PreferredLeader,
        PreferredLeaderWait: response.PreferredLeaderWait is "" ? null : response.PreferredLeaderWait,
        DataBytes: response.DataBytes,
        QuotaBytes: response.QuotaBytes == 0 ? null : response.QuotaBytes,
        SnapshotFrom: response.SnapshotFrom == 0 ? null : (int)response.SnapshotFrom,
        SnapshotReceivedBytes: response.SnapshotFrom == 0 ? null : response.SnapshotReceivedBytes,
        SnapshotTotalBytes: response.SnapshotFrom == 0 ? null : response.SnapshotTotalBytes);

    public static StatusRow Down(ClusterConfig.ReplicaEntry replica, string error) => new(
        replica.Id, replica.Endpoint, Up: false, null, null, null, null, null, replica.ProcessId, Leader: false, null, error, Http: replica.Http);
}
