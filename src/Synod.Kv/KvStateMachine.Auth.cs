namespace Synod.Kv;

/// <summary>Users, roles and permissions (<see cref="KvAuth"/>), checked as each command is applied.</summary>
public sealed partial class KvStateMachine
{
    /// <summary>Users, roles and whether authentication is on, as of <see cref="AppliedSlot"/>.</summary>
    public KvAuth Auth { get; private set; } = KvAuth.Empty;

    /// <summary>What a snapshot holds of <see cref="Auth"/>: all of it, unless the bug <see cref="KvBugs.SnapshotDropsAuth"/> is on.</summary>
    private KvAuth AuthForSnapshot => (_bugs & KvBugs.SnapshotDropsAuth) != 0 ? KvAuth.Empty : Auth;

    /// <summary>
    /// Whether the command's user may do what it does, authentication being on: a put or delete writes its key (and,
    /// with a condition, reads it: a failed compare answers with the key's entry); a transaction reads every key it
    /// compares, gets or ranges over and writes every key it puts or deletes, in both branches; a lease grant needs a
    /// user; a revoke writes every key attached to the lease; compaction is for root alone.
    /// </summary>
    private bool Permitted(KvCommand command)
    {
        var user = command.User.Length == 0 ? null : command.User;
        switch (command.Operation)
        {
            case KvOperation.Put or KvOperation.Delete:
                return Auth.Allows(user, command.Key, write: true) && (command.Condition is null || Auth.Allows(user, command.Key, write: false));
            case KvOperation.Txn:
                var txn = command.Txn!;
                return txn.Compares.All(c => Auth.Allows(user, c.Key, write: false))
                    && txn.Success.Concat(txn.Failure).All(op => op.Kind switch
                    {
                        KvTxnOpKind.Put or KvTxnOpKind.Delete => Auth.Allows(user, op.Key, write: true),
                        KvTxnOpKind.Get => Auth.Allows(user, op.Key, write: false),
                        _ => Auth.Allows(user, op.Key, op.RangeEnd, write: false),
                    });
            case KvOperation.LeaseGrant:
                return user is not null && Auth.Users.ContainsKey(user);
            case KvOperation.LeaseRevoke:
                return user is not null && Auth.Users.ContainsKey(user)
                    && (!_leases.TryGetValue(command.LeaseId, out var lease) || lease.Keys.All(key => Auth.Allows(user, key, write: true)));
            case KvOperation.Compact:
                return Auth.IsRoot(user);
            default:
                // Register, and a leader's lease expiry and epoch: no client's request, nothing to check.
                return true;
        }
    }
}
