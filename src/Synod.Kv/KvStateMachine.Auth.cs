namespace Synod.Kv;

/// <summary>Users, roles and permissions (<see cref="KvAuth"/>), checked as each command is applied.</summary>
public sealed partial class KvStateMachine
{
    /// <summary>Users, roles and whether authentication is on, as of <see cref="AppliedSlot"/>.</summary>
    public KvAuth Auth { get; private set; } = KvAuth.Empty;

    /// <summary>
    /// The user that registered each session, for sessions registered by one (authentication on): while it is on, a
    /// command under a session of another user, or of none, is answered as if the session were gone, so no user can spend
    /// or answer from another's exactly-once session. Evicted with the session.
    /// </summary>
    private readonly Dictionary<ulong, string> _sessionUsers = [];

    /// <summary>The sessions' users in client-id order, as a snapshot holds them.</summary>
    private KeyValuePair<ulong, string>[] SessionUsersNow() => [.. _sessionUsers.OrderBy(pair => pair.Key)];

    /// <summary>
    /// The auth part of a version 7 snapshot, null when there is nothing to write (a state that never used authentication
    /// writes version 5): <see cref="Auth"/> (length-prefixed), then the sessions' users (a count, then client id and
    /// length-prefixed name in client-id order), then the leases' owners (a count, then lease id and length-prefixed name
    /// in lease-id order; version 6 ends before them). A copy, so it may be serialised elsewhere. Nothing under the bug
    /// <see cref="KvBugs.SnapshotDropsAuth"/>.
    /// </summary>
    private byte[]? AuthSection()
    {
        var owned = _leases.Values.Where(lease => lease.Owner.Length != 0).ToList();
        if ((Auth.IsEmpty && _sessionUsers.Count == 0 && owned.Count == 0) || (_bugs & KvBugs.SnapshotDropsAuth) != 0)
        {
            return null;
        }

        var output = new List<byte>();
        KvBytes.Append(output, Auth.Encode());
        KvBytes.AppendVarint(output, (ulong)_sessionUsers.Count);
        foreach (var (clientId, user) in SessionUsersNow())
        {
            KvBytes.AppendVarint(output, clientId);
            KvBytes.Append(output, System.Text.Encoding.UTF8.GetBytes(user));
        }

        KvBytes.AppendVarint(output, (ulong)owned.Count);
        foreach (var lease in owned)
        {
            KvBytes.AppendVarint(output, (ulong)lease.Id);
            KvBytes.Append(output, System.Text.Encoding.UTF8.GetBytes(lease.Owner));
        }

        return [.. output];
    }

    /// <summary>
    /// Reads what <see cref="AuthSection"/> wrote; every session user must name a
    /// session the snapshot holds, and every lease owner a lease, in order.
    /// </summary>
    private void ReadAuthSection(ref ByteReader reader)
    {
        Auth = KvAuth.Decode(reader.ReadLengthPrefixed("auth", AuthBytesMax, nameof(AuthBytesMax)));
        var count = reader.ReadVarint("session user count");
        if (count > (ulong)_sessions.Count)
        {
            throw new KvFormatException($"The snapshot has {count} session users for {_sessions.Count} sessions.");
        }

        ulong previous = 0;
        for (var i = 0UL; i < count; i++)
        {
            var clientId = reader.ReadVarint("session user client id");
            var user = KvAuthChange.ReadName(ref reader, "session user");
            if (clientId <= previous || !_sessions.ContainsKey(clientId))
            {
                throw new KvFormatException($"The snapshot names a user for client {clientId}, out of order or without a session.");
            }

            _sessionUsers[clientId] = user;
            previous = clientId;
        }

        var owners = reader.ReadVarint("lease owner count");
        if (owners > (ulong)_leases.Count)
        {
            throw new KvFormatException($"The snapshot has {owners} lease owners for {_leases.Count} leases.");
        }

        ulong previousLease = 0;
        for (var i = 0UL; i < owners; i++)
        {
            var leaseId = reader.ReadVarint("lease owner's lease id");
            var owner = KvAuthChange.ReadName(ref reader, "lease owner");
            if (leaseId <= previousLease || leaseId > long.MaxValue || !_leases.TryGetValue((long)leaseId, out var lease))
            {
                throw new KvFormatException($"The snapshot names an owner for lease {leaseId}, out of order or without a lease.");
            }

            lease.Owner = owner;
            previousLease = leaseId;
        }

        if (Auth.IsEmpty && _sessionUsers.Count == 0 && owners == 0)
        {
            throw new KvFormatException("The snapshot has an auth part with no users, roles, authentication, session users or lease owners set.");
        }
    }

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
                return Auth.Allows(user, command.Key, write: true) && (command.Condition is null || Auth.Allows(user, command.Key, write: false))
                    && MayAttach(command, user, command.Lease);
            case KvOperation.Txn:
                var txn = command.Txn!;
                return txn.Compares.All(c => Auth.Allows(user, c.Key, write: false))
                    && txn.Success.Concat(txn.Failure).All(op => op.Kind switch
                    {
                        KvTxnOpKind.Put => Auth.Allows(user, op.Key, write: true) && MayAttach(command, user, op.Lease),
                        KvTxnOpKind.Delete => Auth.Allows(user, op.Key, write: true),
                        KvTxnOpKind.Get => Auth.Allows(user, op.Key, write: false),
                        _ => Auth.Allows(user, op.Key, op.RangeEnd, write: false),
                    });
            case KvOperation.LeaseGrant:
                return user is not null && Auth.Users.ContainsKey(user);
            case KvOperation.LeaseRevoke:
                return user is not null && Auth.Users.ContainsKey(user)
                    && (!_leases.TryGetValue(command.LeaseId, out var lease)
                        || ((!UnderOwnerRules(command) || lease.Owner.Length == 0 || lease.Owner == user || Auth.IsRoot(user)) && lease.Keys.All(key => Auth.Allows(user, key, write: true))));
            case KvOperation.Compact:
                return Auth.IsRoot(user);
            default:
                // Register, and a leader's lease expiry and epoch: no client's request, nothing to check.
                return true;
        }
    }

    /// <summary>
    /// Whether <paramref name="user"/> may attach a key to <paramref name="lease"/> (0: none): a lease granted by a user
    /// takes keys from that user or a root user only (one missing is refused as missing, later).
    /// </summary>
    private bool MayAttach(KvCommand command, string? user, long lease) =>
        lease == 0 || !UnderOwnerRules(command) || !_leases.TryGetValue(lease, out var found) || found.Owner.Length == 0 || found.Owner == user || Auth.IsRoot(user);

    /// <summary>
    /// Whether the lease owner rules apply to a command: to every one, of encoding 5 too, as the build that brought the
    /// rules applied them (it wrote encoding 5 and kept owners in format-7 snapshots), so that a replica replaying its log
    /// and one that restored its snapshot judge alike. The build before owners also wrote encoding 5, without the rules:
    /// its snapshots (format 6) are refused (<see cref="Restore"/>), and the upgrade from it must first make that build stop
    /// judging leases (every lease revoked, a snapshot on every replica after it) before it goes through the build with
    /// owners: that build reads format 6 without a check, so its own snapshots are only as alike as what it restored. Under <see cref="KvBugs.OldCommandsByOldestRules"/>, encoding 5 gets no rules.
    /// </summary>
    private bool UnderOwnerRules(KvCommand command) =>
        (_bugs & KvBugs.OldCommandsByOldestRules) == 0 || command.EncodingVersion >= KvCommand.FormatVersionLeaseHandover;

    /// <summary>
    /// After a user is deleted by a command of <see cref="KvCommand.FormatVersionLeaseHandover"/>, its leases are root's: a
    /// user added later under the same name is someone else and takes none of them over. A deletion the builds before
    /// chose (encoding 5) hands nothing over, as they did not, wherever it is applied.
    /// </summary>
    private void HandLeasesToRoot(KvCommand command, KvAuthChange change, KvStatus status)
    {
        if (status != KvStatus.Ok || command.EncodingVersion < KvCommand.FormatVersionLeaseHandover || change is not { Kind: KvAuthChangeKind.UserDelete, Name: var name } || name == KvAuth.RootUser)
        {
            return;
        }

        foreach (var lease in _leases.Values)
        {
            if (lease.Owner == name)
            {
                lease.Owner = KvAuth.RootUser;
            }
        }
    }
}
