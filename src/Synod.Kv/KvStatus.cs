namespace Synod.Kv;

/// <summary>The outcome of one command. The numeric values are stored in snapshots, so never renumber them.</summary>
public enum KvStatus : byte
{
    /// <summary>The command was applied.</summary>
    Ok = 0,

    /// <summary>A Delete was applied to a key that did not exist.</summary>
    NotFound = 1,

    /// <summary>
    /// The client id was assigned but its session is gone (evicted), so it cannot be known whether the command was
    /// applied before. Not applied; the client must register a new client id.
    /// </summary>
    SessionExpired = 2,

    /// <summary>The sequence is below the client's last applied one: an old message. Not applied.</summary>
    StaleSequence = 3,

    /// <summary>The bytes did not decode or the command broke a limit. Not applied.</summary>
    Invalid = 4,

    /// <summary>The client id was never assigned by a registration (it is above <see cref="KvStateMachine.LastClientId"/>). Not applied.</summary>
    UnknownClient = 5,

    /// <summary>The write's condition did not hold when it was applied: nothing changed (compare-and-swap failed).</summary>
    CompareFailed = 6,

    /// <summary>A compact command named a revision the log had not reached when it was applied: nothing changed.</summary>
    RevisionInFuture = 7,

    /// <summary>A put, or a transaction's put, named a lease that does not exist (never granted, revoked or expired): nothing changed.</summary>
    LeaseNotFound = 8,

    /// <summary>A lease grant named an id that is already granted: nothing changed.</summary>
    LeaseExists = 9,

    /// <summary>A lease grant found <see cref="KvLimits.LeasesMax"/> leases live already: nothing changed.</summary>
    LeasesFull = 10,

    /// <summary>A put (or a transaction's puts) would attach more than <see cref="KvLimits.LeaseKeysMax"/> keys to one lease: nothing changed.</summary>
    LeaseKeysFull = 11,

    /// <summary>Authentication is on and the command's user may not do this (a key outside its roles, or a root-only change): nothing changed.</summary>
    PermissionDenied = 12,

    /// <summary>An auth change would add a user or role that exists already: nothing changed.</summary>
    AuthExists = 13,

    /// <summary>
    /// An enable with no user named root, or a change that would leave authentication on without a root user holding the
    /// root role (deleting it, or revoking its role): nothing changed, so no one is locked out.
    /// </summary>
    AuthRootRequired = 14,

    /// <summary>An auth change would pass <see cref="KvLimits.UsersMax"/>, <see cref="KvLimits.RolesMax"/>, <see cref="KvLimits.RolesPerUserMax"/> or <see cref="KvLimits.PermissionsPerRoleMax"/>: nothing changed.</summary>
    AuthFull = 15,
}
