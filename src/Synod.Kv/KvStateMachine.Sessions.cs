namespace Synod.Kv;

/// <summary>Client sessions: the exactly-once rules and the bounded, deterministic LRU of sessions.</summary>
public sealed partial class KvStateMachine
{
    /// <summary>True if the client has a session, for tests and diagnostics.</summary>
    public bool HasSession(ulong clientId) => _sessions.ContainsKey(clientId);

    /// <summary>
    /// Applies a valid command under the session rules:
    /// with a session, a sequence above the last is applied and recorded, the last sequence again is a
    /// duplicate answered with the recorded status, and a lower one is stale; without a session, sequence 1
    /// opens one and is applied, and anything higher is <see cref="KvStatus.SessionExpired"/>, because the
    /// session may have been evicted and the command may already have been applied.
    /// </summary>
    private AppliedCommand ApplyCommand(long slot, KvCommand command)
    {
        var clientId = command.ClientId;
        var sequence = command.Sequence;
        if (_sessions.TryGetValue(clientId, out var session))
        {
            if (sequence < session.LastSequence)
            {
                // An old, delayed message: the client has moved on, so it does not count as a use.
                return new AppliedCommand(clientId, sequence, KvStatus.StaleSequence, Duplicate: false);
            }

            if (sequence == session.LastSequence)
            {
                RecordSession(clientId, session with { LastUsedSlot = slot });
                return new AppliedCommand(clientId, sequence, session.LastStatus, Duplicate: true);
            }
        }
        else
        {
            if (sequence > 1)
            {
                return new AppliedCommand(clientId, sequence, KvStatus.SessionExpired, Duplicate: false);
            }

            EvictDownTo(_sessionsMax - 1);
        }

        var status = Execute(command);
        RecordSession(clientId, new ClientSession(sequence, status, slot));
        return new AppliedCommand(clientId, sequence, status, Duplicate: false);
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
        }
    }
}
