namespace Synod.Simulation;

/// <summary>How many of each fault actually fired in a run: a simulator whose faults never fire proves nothing.</summary>
public sealed class FaultCounters
{
    public long Crashes { get; set; }

    public long Restarts { get; set; }

    /// <summary>Faults that crashed a majority or every replica at the same instant.</summary>
    public long PowerFailures { get; set; }

    public long Partitions { get; set; }

    public long OneWayPartitions { get; set; }

    public long MessagesDropped { get; set; }

    public long MessagesDuplicated { get; set; }

    /// <summary>Replicas whose timer ran slow for a while (their candidacies and timeouts stretch).</summary>
    public long SlowClocks { get; set; }

    /// <summary>Snapshots a replica installed while it was a candidate (with the fix, it stands down as it does).</summary>
    public long SnapshotsInstalledByCandidates { get; set; }

    /// <summary>Peer messages held far longer than the usual delay, or across a partition.</summary>
    public long MessagesHeldLong { get; set; }

    public long MessagesDelivered { get; set; }

    /// <summary>Bytes written but not yet synced when their replica crashed (lost, or partly kept by a torn write).</summary>
    public long UnsyncedBytesLost { get; set; }

    /// <summary>Crashes that kept a random prefix of the unsynced bytes (a torn last write).</summary>
    public long TornWrites { get; set; }

    /// <summary>Synced sectors damaged (--corrupt-sectors), and starts that then refused and were rebuilt from peers.</summary>
    public long SectorsCorrupted { get; set; }

    public long CorruptLogsRefused { get; set; }

    /// <summary>Snapshot files written (tmp, fsync, rename) and the log compacted behind them.</summary>
    public long SnapshotFilesWritten { get; set; }

    public long SnapshotsInstalled { get; set; }

    /// <summary>Installed snapshots whose file a replica began writing beside the restore (ReplicaStorage.PrepareInstall).</summary>
    public long InstallsPrepared { get; set; }

    /// <summary>Snapshots a peer sent to a replica too far behind to catch up slot by slot.</summary>
    public long SnapshotsSentToLaggards { get; set; }

    public long LeaderChanges { get; set; }

    /// <summary>Snapshot chunks delivered, first chunks included.</summary>
    public long SnapshotChunksDelivered { get; set; }

    /// <summary>Crashes that also lost the disk: the replica restarts empty and rebuilds from its peers as a non-voter.</summary>
    public long DiskWipes { get; set; }

    /// <summary>Rebuilding replicas that became voters again.</summary>
    public long VotersRestored { get; set; }

    public long ClientRetries { get; set; }

    /// <summary>Candidacies the targeted fault stalled: a Prepare held, the clock slow, another leader rising meanwhile (I15).</summary>
    public long StalledCandidacies { get; set; }

    /// <summary>Snapshots the stalled-candidacy fault had the candidate's promisers take while it waited.</summary>
    public long TargetedSnapshots { get; set; }

    /// <summary>Disk losses of a replica right after it promised the isolated candidate (the forgotten-life fault's first).</summary>
    public long PromiserDiskLosses { get; set; }

    /// <summary>Disk losses of a replica that had answered another's floor question (VoterQuery) in its new life (I16).</summary>
    public long FloorMemberDiskLosses { get; set; }

    /// <summary>Prepares held across two rebuilds and then delivered to the second rebuilt replica (I16).</summary>
    public long PreparesHeldAcrossRebuilds { get; set; }

    /// <summary>Disk losses of a follower that helped choose slots a quorum's other side never saw (the early-vote fault's first step).</summary>
    public long EarlyVoteDiskLosses { get; set; }

    /// <summary>Rebuilt replicas cut off, with the replicas that never saw those slots, from the leader the moment they voted (I14).</summary>
    public long EarlyVoteSplits { get; set; }

    /// <summary>Runs that began on the build before revisions and were upgraded in place (the upgrade fault).</summary>
    public long Upgrades { get; set; }

    /// <summary>Runs with authentication that began on the build before lease owners and were upgraded in place.</summary>
    public long OwnerUpgrades { get; set; }

    /// <summary>LimitedUser's puts onto a lease holder's (root's) lease: attached (allowed by the old build's rules), refused (this build's).</summary>
    public long TrespassesAttached { get; set; }

    public long TrespassesRefused { get; set; }

    /// <summary>Runs whose membership changed; configuration changes taken effect; refused ones; replicas that joined; removed replicas stopped.</summary>
    public long ReconfiguringRuns { get; set; }

    public long Reconfigurations { get; set; }

    /// <summary>Handovers a leader started (<see cref="SimulationOptions.HandoverProbability"/>), and those given up.</summary>
    public long Handovers { get; set; }

    public long HandoversGivenUp { get; set; }

    /// <summary>Handovers leaders started for the preferred-leader rule.</summary>
    public long PreferredHandovers { get; set; }

    /// <summary>Bridge faults started (<see cref="BridgeFault"/>).</summary>
    public long Bridges { get; set; }

    /// <summary>Followers that installed a peer's snapshot over their own one still being written (SnapshotOvertakenFault).</summary>
    public long SnapshotsOvertaken { get; set; }

    /// <summary>Snapshots damaged in their source's mapped file (DamagedSourceFault).</summary>
    public long MappedSnapshotsDamaged { get; set; }

    /// <summary>Snapshots a learner assembled from a damaged source's chunks and refused.</summary>
    public long DamagedSnapshotsRefused { get; set; }

    /// <summary>Chunks a damaged source sent with the headers it checked in memory instead of its mapped file's damaged ones (and stored copies not taken for them).</summary>
    public long DamagedHeadersSentFromMemory { get; set; }

    /// <summary>
    /// Followers that got past a damaged source's snapshot (DamagedSourceFault's last step) after refusing it and fetching
    /// another peer's, or being sent its header from the source's memory.
    /// </summary>
    public long DamagedSourcesGotPast { get; set; }

    /// <summary>Handovers to the bridged voter the bridge fault asked of the leader (each must be refused).</summary>
    public long BridgeHandoversAsked { get; set; }

    /// <summary>Runs that ended quiet long enough for the preferred-leader check (the largest voter leads).</summary>
    public long PreferredLeaderChecks { get; set; }

    /// <summary>Runs that turned authentication on (<see cref="SimulationOptions.AuthProbability"/>), and writes refused for want of permission.</summary>
    public long AuthRuns { get; set; }

    public long WritesDenied { get; set; }

    /// <summary>
    /// Runs with a write quota (<see cref="SimulationOptions.QuotaProbability"/>), writes refused for space, and writes a
    /// replica judged over the quota as it arrived (each must be refused, and none other).
    /// </summary>
    public long QuotaRuns { get; set; }

    public long WritesRefusedNoSpace { get; set; }

    public long WritesOverQuota { get; set; }

    /// <summary>Writes that grow the data handed to a replica that lagged too far to judge the quota (each refused as catching up).</summary>
    public long WritesRefusedLagging { get; set; }

    /// <summary>Runs whose enable was acknowledged, and writes outside the grants begun after it (each must be refused).</summary>
    public long AuthEnabled { get; set; }

    public long ForbiddenWritesTried { get; set; }

    /// <summary>Removals of a leader that handed over first, asked again at the new leader.</summary>
    public long LeaderRemovalsFollowed { get; set; }

    public long ReconfigurationsRefused { get; set; }

    public long ReplicasJoined { get; set; }

    public long ReplicasRetired { get; set; }

    /// <summary>Simulated watchers cancelled because the history window moved past them (they start afresh).</summary>
    public long WatchersCompacted { get; set; }

    /// <summary>Simulated watches of <see cref="Simulator.LimitedUser"/> refused or ended for want of permission (auth runs).</summary>
    public long WatchesDenied { get; set; }

    /// <summary>Times a simulated watch stream filled up, so that its watcher fell behind and had to catch up from the history.</summary>
    public long WatchStreamsFull { get; set; }

    /// <summary>Snapshots written in the old format (2) before an upgrade.</summary>
    public long OldFormatSnapshots { get; set; }

    /// <summary>Targeted faults that gave up at a step the cluster did not reach in time (they heal what they cut).</summary>
    public long TargetedFaultsAbandoned { get; set; }

    /// <summary>Messages that break the peer message rules, sent in a member's name (a forged Accept, a non-member's ballot, slots past 2^53).</summary>
    public long ForgedMessages { get; set; }

    /// <summary>Peers' messages the cores refused under those rules.</summary>
    /// <summary>Lease holders paused past their TTL.</summary>
    public long LeaseHolderPauses { get; set; }

    /// <summary>Leases that ended (revoked or expired), and of those, expired.</summary>
    public long LeasesEnded { get; set; }

    public long LeasesExpired { get; set; }

    /// <summary>Fenced writes of the lock recipe refused because the lock had passed on (its holder paused past its TTL).</summary>
    public long FencedWritesRefused { get; set; }

    /// <summary>Locks the lease holders' recipe took.</summary>
    public long LocksTaken { get; set; }

    public long MessagesRefused { get; set; }

    public void Add(FaultCounters other)
    {
        Crashes += other.Crashes;
        Restarts += other.Restarts;
        PowerFailures += other.PowerFailures;
        Partitions += other.Partitions;
        OneWayPartitions += other.OneWayPartitions;
        MessagesDropped += other.MessagesDropped;
        MessagesDuplicated += other.MessagesDuplicated;
        MessagesHeldLong += other.MessagesHeldLong;
        SnapshotsInstalledByCandidates += other.SnapshotsInstalledByCandidates;
        SlowClocks += other.SlowClocks;
        MessagesDelivered += other.MessagesDelivered;
        UnsyncedBytesLost += other.UnsyncedBytesLost;
        TornWrites += other.TornWrites;
        SectorsCorrupted += other.SectorsCorrupted;
        CorruptLogsRefused += other.CorruptLogsRefused;
        SnapshotFilesWritten += other.SnapshotFilesWritten;
        SnapshotsInstalled += other.SnapshotsInstalled;
        InstallsPrepared += other.InstallsPrepared;
        SnapshotsSentToLaggards += other.SnapshotsSentToLaggards;
        LeaderChanges += other.LeaderChanges;
        SnapshotChunksDelivered += other.SnapshotChunksDelivered;
        DiskWipes += other.DiskWipes;
        VotersRestored += other.VotersRestored;
        ClientRetries += other.ClientRetries;
        StalledCandidacies += other.StalledCandidacies;
        TargetedSnapshots += other.TargetedSnapshots;
        PromiserDiskLosses += other.PromiserDiskLosses;
        FloorMemberDiskLosses += other.FloorMemberDiskLosses;
        PreparesHeldAcrossRebuilds += other.PreparesHeldAcrossRebuilds;
        EarlyVoteDiskLosses += other.EarlyVoteDiskLosses;
        EarlyVoteSplits += other.EarlyVoteSplits;
        Upgrades += other.Upgrades;
        OwnerUpgrades += other.OwnerUpgrades;
        TrespassesAttached += other.TrespassesAttached;
        TrespassesRefused += other.TrespassesRefused;
        ReconfiguringRuns += other.ReconfiguringRuns;
        Reconfigurations += other.Reconfigurations;
        Handovers += other.Handovers;
        HandoversGivenUp += other.HandoversGivenUp;
        PreferredHandovers += other.PreferredHandovers;
        Bridges += other.Bridges;
        SnapshotsOvertaken += other.SnapshotsOvertaken;
        MappedSnapshotsDamaged += other.MappedSnapshotsDamaged;
        DamagedSnapshotsRefused += other.DamagedSnapshotsRefused;
        DamagedSourcesGotPast += other.DamagedSourcesGotPast;
        DamagedHeadersSentFromMemory += other.DamagedHeadersSentFromMemory;
        BridgeHandoversAsked += other.BridgeHandoversAsked;
        PreferredLeaderChecks += other.PreferredLeaderChecks;
        AuthRuns += other.AuthRuns;
        WritesDenied += other.WritesDenied;
        QuotaRuns += other.QuotaRuns;
        WritesRefusedNoSpace += other.WritesRefusedNoSpace;
        WritesOverQuota += other.WritesOverQuota;
        WritesRefusedLagging += other.WritesRefusedLagging;
        AuthEnabled += other.AuthEnabled;
        ForbiddenWritesTried += other.ForbiddenWritesTried;
        LeaderRemovalsFollowed += other.LeaderRemovalsFollowed;
        ReconfigurationsRefused += other.ReconfigurationsRefused;
        ReplicasJoined += other.ReplicasJoined;
        ReplicasRetired += other.ReplicasRetired;
        WatchersCompacted += other.WatchersCompacted;
        WatchesDenied += other.WatchesDenied;
        WatchStreamsFull += other.WatchStreamsFull;
        OldFormatSnapshots += other.OldFormatSnapshots;
        TargetedFaultsAbandoned += other.TargetedFaultsAbandoned;
        ForgedMessages += other.ForgedMessages;
        MessagesRefused += other.MessagesRefused;
        LeaseHolderPauses += other.LeaseHolderPauses;
        LeasesEnded += other.LeasesEnded;
        LeasesExpired += other.LeasesExpired;
        FencedWritesRefused += other.FencedWritesRefused;
        LocksTaken += other.LocksTaken;
    }

    public override string ToString() =>
        $"crashes={Crashes} restarts={Restarts} power-failures={PowerFailures} partitions={Partitions} (one-way {OneWayPartitions}) " +
        $"dropped={MessagesDropped} duplicated={MessagesDuplicated} held-long={MessagesHeldLong} candidate-installs={SnapshotsInstalledByCandidates} slow-clocks={SlowClocks} delivered={MessagesDelivered} " +
        $"unsynced-bytes-lost={UnsyncedBytesLost} torn-writes={TornWrites} sectors-corrupted={SectorsCorrupted} corrupt-logs-refused={CorruptLogsRefused} snapshot-files={SnapshotFilesWritten} snapshots-installed={SnapshotsInstalled} installs-prepared={InstallsPrepared} snapshots-sent-to-laggards={SnapshotsSentToLaggards} snapshot-chunks={SnapshotChunksDelivered} leader-changes={LeaderChanges} disk-wipes={DiskWipes} voters-restored={VotersRestored} client-retries={ClientRetries} forged={ForgedMessages} refused={MessagesRefused} lease-holder-pauses={LeaseHolderPauses} leases-ended={LeasesEnded} leases-expired={LeasesExpired} locks-taken={LocksTaken} fenced-writes-refused={FencedWritesRefused} " +
        $"stalled-candidacies={StalledCandidacies} targeted-snapshots={TargetedSnapshots} promiser-disk-losses={PromiserDiskLosses} " +
        $"floor-member-disk-losses={FloorMemberDiskLosses} prepares-held-across-rebuilds={PreparesHeldAcrossRebuilds} early-vote-disk-losses={EarlyVoteDiskLosses} early-vote-splits={EarlyVoteSplits} upgrades={Upgrades} owner-upgrades={OwnerUpgrades} trespasses-attached={TrespassesAttached} trespasses-refused={TrespassesRefused} reconfiguring-runs={ReconfiguringRuns} reconfigurations={Reconfigurations} reconfigurations-refused={ReconfigurationsRefused} joined={ReplicasJoined} retired={ReplicasRetired} handovers={Handovers} handovers-given-up={HandoversGivenUp} preferred-handovers={PreferredHandovers} preferred-leader-checks={PreferredLeaderChecks} bridges={Bridges} snapshots-overtaken={SnapshotsOvertaken} mapped-snapshots-damaged={MappedSnapshotsDamaged} damaged-snapshots-refused={DamagedSnapshotsRefused} damaged-sources-got-past={DamagedSourcesGotPast} damaged-headers-sent-from-memory={DamagedHeadersSentFromMemory} bridge-handovers-asked={BridgeHandoversAsked} auth-runs={AuthRuns} writes-denied={WritesDenied} quota-runs={QuotaRuns} writes-refused-no-space={WritesRefusedNoSpace} writes-over-quota={WritesOverQuota} writes-refused-lagging={WritesRefusedLagging} auth-enabled={AuthEnabled} forbidden-writes-tried={ForbiddenWritesTried} leader-removals-followed={LeaderRemovalsFollowed} watchers-compacted={WatchersCompacted} watches-denied={WatchesDenied} watch-streams-full={WatchStreamsFull} old-format-snapshots={OldFormatSnapshots} targeted-abandoned={TargetedFaultsAbandoned}";
}
