namespace Synod.Kv;

/// <summary>Client sessions: the exactly-once rules and the bounded, deterministic LRU of sessions.</summary>
public sealed partial class KvStateMachine
{
    /// <summary>
    /// Whether the command of <paramref name="clientId"/> with <paramref name="sequence"/> has been applied here (its
    /// session's last applied sequence is at or past it): a retry of it is answered as a duplicate, never judged again.
    /// </summary>
    public bool HasApplied(ulong clientId, ulong sequence) =>
        clientId != 0 && _sessions.TryGetValue(clientId, out var session) && session.LastSequence >= sequence;

    /// <summary>True if the client has a session, for tests and diagnostics.</summary>
    public bool HasSession(ulong clientId) => _sessions.ContainsKey(clientId);

    /// <summary>
    /// The last client id a <see cref="KvOperation.Register"/> assigned: ids are 1, 2, 3, ... in log order, so every
    /// replica assigns the same. 0 before the first registration.
    /// </summary>
    public ulong LastClientId { get; private set; }

    /// <summary>The largest client id a registration assigns (2^53, as the peer rules' numbers): beyond it Register is Invalid.</summary>
    public const ulong ClientIdMax = 1UL << 53;

    /// <summary>
    /// Applies a valid command under the session rules (I11, docs/protocol.md). A Register assigns the next client id
    /// and opens its session, with nothing applied under it yet. With a session, a sequence above the last is applied
    /// and recorded, the last sequence again is a duplicate answered with the recorded status, and a lower one is stale.
    /// Without a session a write is never applied: an id at or below <see cref="LastClientId"/> had a session that was
    /// evicted, so the command may have been applied before (<see cref="KvStatus.SessionExpired"/>); an id above it was
    /// never assigned (<see cref="KvStatus.UnknownClient"/>). A write therefore never opens a session, and a late copy of
    /// a client's first write cannot be applied a second time after its session was evicted.
    /// Until the first registration is applied (<see cref="LastClientId"/> 0), the rule of the code before registration
    /// holds: sequence 1 from an unknown id opens a session. So a log written by that code, replayed by this one after an
    /// upgrade, applies exactly as it did; the switch happens at a point of the log, the same on every replica.
    /// </summary>
    private AppliedCommand ApplyCommand(long slot, KvCommand command)
    {
        var clientId = command.ClientId;
        var sequence = command.Sequence;
        if (command.Operation == KvOperation.Register)
        {
            if (LastClientId >= ClientIdMax)
            {
                return new AppliedCommand(clientId, sequence, KvStatus.Invalid, Duplicate: false);
            }

            EvictDownTo(_sessionsMax - 1);
            var assigned = ++LastClientId;
            RecordSession(assigned, new ClientSession(0, KvStatus.Ok, slot, Revision));
            if (command.User.Length != 0)
            {
                _sessionUsers[assigned] = command.User;
            }

            return new AppliedCommand(clientId, sequence, KvStatus.Ok, Duplicate: false, RegisteredClientId: assigned);
        }

        if (command.Operation is KvOperation.LeaseExpire or KvOperation.LeaderEpoch)
        {
            return ApplyLeaderCommand(command);
        }

        if (Auth.Enabled && _sessionUsers.GetValueOrDefault(clientId, "") != command.User && _sessions.ContainsKey(clientId))
        {
            // Another user's session (or one registered before authentication was on): as good as gone for this user,
            // who registers its own. Not recorded, so the session's owner sees nothing of it.
            return new AppliedCommand(clientId, sequence, KvStatus.SessionExpired, Duplicate: false);
        }

        if (!_sessions.TryGetValue(clientId, out var session))
        {
            var firstWriteOpens = LastClientId == 0 || (_bugs & KvBugs.FirstWriteOpensSession) != 0;
            var refusal = firstWriteOpens && sequence == 1 ? (KvStatus?)null
                : clientId <= LastClientId ? KvStatus.SessionExpired
                : KvStatus.UnknownClient;
            if (refusal is { } status)
            {
                return new AppliedCommand(clientId, sequence, status, Duplicate: false);
            }

            EvictDownTo(_sessionsMax - 1);
        }
        else if (sequence < session.LastSequence)
        {
            // An old, delayed message: the client has moved on, so it does not count as a use.
            return new AppliedCommand(clientId, sequence, KvStatus.StaleSequence, Duplicate: false);
        }
        else if (sequence == session.LastSequence)
        {
            RecordSession(clientId, session with { LastUsedSlot = slot });
            return new AppliedCommand(clientId, sequence, session.LastStatus, Duplicate: true, Revision: session.LastRevision, Entry: session.LastEntry);
        }

        if (Auth.Enabled && command.Operation != KvOperation.Auth && (_bugs & KvBugs.PermissionsIgnored) == 0 && !Permitted(command))
        {
            // Judged here, in log order, against the roles as they stand at this slot: every replica gives the same answer,
            // and a permission revoked before the command's slot is not used by it, wherever it was proposed.
            RecordSession(clientId, new ClientSession(sequence, KvStatus.PermissionDenied, slot, Revision));
            return new AppliedCommand(clientId, sequence, KvStatus.PermissionDenied, Duplicate: false, Revision: Revision);
        }

        if (command.Operation == KvOperation.Auth)
        {
            var change = command.AuthChange;
            var (authStatus, after) = Auth.Apply(change, command.User.Length == 0 ? null : command.User, slot);
            Auth = after;
            HandLeasesToRoot(command, change, authStatus);
            RecordSession(clientId, new ClientSession(sequence, authStatus, slot, Revision));
            return new AppliedCommand(clientId, sequence, authStatus, Duplicate: false, Revision: Revision);
        }

        if (command.Txn is { } txn)
        {
            var answer = ExecuteTxn(txn, out var refused);
            if (refused is { } leaseRefused)
            {
                RecordSession(clientId, new ClientSession(sequence, leaseRefused, slot, Revision));
                return new AppliedCommand(clientId, sequence, leaseRefused, Duplicate: false, Revision: Revision);
            }

            var status = answer.Succeeded ? KvStatus.Ok : KvStatus.CompareFailed;
            RecordSession(clientId, new ClientSession(sequence, status, slot, Revision));
            return new AppliedCommand(clientId, sequence, status, Duplicate: false, Revision: Revision, Txn: answer);
        }

        if (command.Operation is KvOperation.LeaseGrant or KvOperation.LeaseRevoke)
        {
            // A revoke that deleted keys took a revision; the answer carries the revision after it, as a delete's does.
            var leaseStatus = ApplyLeaseCommand(slot, command);
            RecordSession(clientId, new ClientSession(sequence, leaseStatus, slot, Revision));
            return new AppliedCommand(clientId, sequence, leaseStatus, Duplicate: false, Revision: Revision);
        }

        if (command.Operation == KvOperation.Compact)
        {
            // The answer's revision is the compaction point after it, which the session keeps for a retry.
            // Judged here, in log order, so that every replica and every retry gives the same answer: a revision the log
            // has reached by now is one every replica has (a revision any client saw came from a command before this one).
            if (command.CompactRevision > Revision)
            {
                RecordSession(clientId, new ClientSession(sequence, KvStatus.RevisionInFuture, slot, Revision));
                return new AppliedCommand(clientId, sequence, KvStatus.RevisionInFuture, Duplicate: false, Revision: Revision);
            }

            // The answer's revision is the compaction point after it (never past the revision: a session holds no more).
            var point = Math.Min(Compact(command.CompactRevision), Revision);
            RecordSession(clientId, new ClientSession(sequence, KvStatus.Ok, slot, point));
            return new AppliedCommand(clientId, sequence, KvStatus.Ok, Duplicate: false, Revision: point);
        }

        var (result, entry) = Execute(command);
        var kept = entry.GetValueOrDefault();
        RecordSession(clientId, new ClientSession(sequence, result, slot, Revision, kept.CreateRevision, kept.ModRevision, kept.Version));
        return new AppliedCommand(clientId, sequence, result, Duplicate: false, Revision: Revision, Entry: entry);
    }

    /// <summary>
    /// Records a session. A new one enters <see cref="_sessionsByLastUse"/>; a used one keeps its entry there, with
    /// the slot of an earlier use, and <see cref="EvictDownTo"/> puts it in its place when it comes first. That spares
    /// every applied command a removal and an insertion in the sorted set (about 3% of a follower's CPU under load).
    /// </summary>
    private void RecordSession(ulong clientId, ClientSession session)
    {
        if (!_sessions.ContainsKey(clientId))
        {
            _sessionsByLastUse.Add((session.LastUsedSlot, clientId));
        }

        _sessions[clientId] = session;
    }

    /// <summary>
    /// Evicts least recently used sessions (ties: lower client id first) until at most <paramref name="sessionsMax"/>
    /// remain. Each session has one entry in <see cref="_sessionsByLastUse"/>, at its last use or an earlier one. The
    /// first entry, if it is up to date, is the least recently used session: every other entry is at or after it, and
    /// every session was last used at or after its entry. An out-of-date first entry moves to its session's last use.
    /// </summary>
    private void EvictDownTo(int sessionsMax)
    {
        while (_sessions.Count > sessionsMax)
        {
            var first = _sessionsByLastUse.Min;
            _sessionsByLastUse.Remove(first);
            var lastUsed = _sessions[first.ClientId].LastUsedSlot;
            if (lastUsed != first.LastUsedSlot)
            {
                _sessionsByLastUse.Add((lastUsed, first.ClientId));
                continue;
            }

            _sessions.Remove(first.ClientId);
            _sessionUsers.Remove(first.ClientId);
        }
    }
}
