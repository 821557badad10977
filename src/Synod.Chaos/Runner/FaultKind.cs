namespace Synod.Chaos;

/// <summary>The kinds of fault `synod chaos` injects into real replica processes; docs/chaos.md says what each does.</summary>
public enum FaultKind
{
    /// <summary>SIGKILL of one or more replicas: a crash, with no chance to flush or say goodbye.</summary>
    Kill,

    /// <summary>SIGSTOP, then SIGCONT a little later: a process that hangs (a long GC pause, a stalled VM) and comes back.</summary>
    Pause,

    /// <summary>A killed replica is started again on its data directory after a random delay.</summary>
    Restart,

    /// <summary>A replica is killed, its data directory deleted, and it is started again with --rebuild-from-peers.</summary>
    Wipe,

    /// <summary>Peer traffic between groups of replicas is dropped (both ways or one way) through the link proxies.</summary>
    Partition,

    /// <summary>
    /// A share of every packet to and from one or more replicas is dropped at random by nftables inside their network
    /// namespaces (`--net netns` only), for a few seconds: TCP retransmits, and messages arrive late or after a reset.
    /// </summary>
    Loss,

    /// <summary>
    /// Every packet to and from one or more replicas is held 5 to 50 ms each way by the user-space switch between the
    /// namespaces (`--net netns` only), for a few seconds: a slow or distant host, whose messages and answers come late.
    /// </summary>
    Delay,

    /// <summary>
    /// A voter is replaced by a new replica (a new id, port and folder): added as a learner, started with --join, promoted
    /// once caught up, and the old one removed (it stops on its own). Once the membership has changed, a wiped voter is
    /// replaced this way too, since it may not rebuild (docs/protocol.md, "Membership").
    /// </summary>
    Replace,

    /// <summary>The voters grow by two new replicas, one change at a time, and the next time shrink by two (any two, the leader too).</summary>
    Resize,
}
