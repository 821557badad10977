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

    private void RecordSession(ulong clientId, ClientSession session)
    {
        if (_sessions.TryGetValue(clientId, out var previous))
        {
            _sessionsByLastUse.Remove((previous.LastUsedSlot, clientId));
        }

        _sessions[clientId] = session;
        _sessionsByLastUse.Add((session.LastUsedSlot, clientId));
    }

    /// <summary>Evicts least recently used sessions (ties: lower client id first) until at most <paramref name="sessionsMax"/> remain.</summary>
    private void EvictDownTo(int sessionsMax)
    {
        while (_sessions.Count > sessionsMax)
        {
            var oldest = _sessionsByLastUse.Min;
            _sessionsByLastUse.Remove(oldest);
            _sessions.Remove(oldest.ClientId);
        }
    }
}
