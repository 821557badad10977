using System.Security.Cryptography;

namespace Synod.Client;

/// <summary>
/// Idle exactly-once sessions of one client. A write rents one for its whole life (retries included) and gives it
/// back after, so concurrent writes never share a client id: the state machine refuses a sequence older than the
/// last applied one, and two writes racing under one id would make the slower one stale. Thread-safe.
/// </summary>
internal sealed class WriteSessionPool
{
    /// <summary>
    /// Idle sessions kept for reuse; beyond this, returned sessions are dropped (the replicas evict them in time). As
    /// many as writes a busy client keeps in flight: below that, every write over the cap would mint a new client id,
    /// a new session on every replica. Far below the replicas' own session limit (KvLimits.SessionsMaxDefault).
    /// </summary>
    public const int IdleSessionsMax = 1024;

    private readonly Stack<WriteSession> _idle = new();
    private readonly Lock _lock = new();
    private readonly Func<ulong> _newClientId;

    public WriteSessionPool()
        : this(RandomClientId)
    {
    }

    /// <param name="newClientId">Makes a fresh client id; tests pass a predictable one.</param>
    public WriteSessionPool(Func<ulong> newClientId)
    {
        _newClientId = newClientId;
    }

    public int IdleCount
    {
        get
        {
            lock (_lock)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>The most recently returned idle session (so few ids stay in use), or a fresh one.</summary>
    public WriteSession Rent()
    {
        lock (_lock)
        {
            if (_idle.TryPop(out var session))
            {
                return session;
            }
        }

        return WriteSession.Fresh(_newClientId());
    }

    /// <summary>Gives a session back after a write ended as <paramref name="end"/>; an abandoned id is dropped.</summary>
    public void Return(WriteSession session, WriteEnd end)
    {
        if (session.After(end) is not { } next)
        {
            return;
        }

        lock (_lock)
        {
            if (_idle.Count < IdleSessionsMax)
            {
                _idle.Push(next);
            }
        }
    }

    /// <summary>
    /// A random, non-zero 64-bit id from the cryptographic generator, so ids from different processes and
    /// machines do not collide in practice (a collision would merge two clients' sessions).
    /// </summary>
    public static ulong RandomClientId()
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        ulong id;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            id = BitConverter.ToUInt64(bytes);
        }
        while (id == 0);

        return id;
    }
}
