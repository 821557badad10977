using System.Security.Cryptography;

namespace Synod.Client;

/// <summary>
/// Idle exactly-once sessions of one client. A write rents one for its whole life (retries included) and gives it
/// back after, so concurrent writes never share a client id: the state machine refuses a sequence older than the
/// last applied one, and two writes racing under one id would make the slower one stale. When none is idle, the
/// caller registers a new client id with the replicas (<see cref="SynodClient"/>). Thread-safe.
/// </summary>
internal sealed class WriteSessionPool
{
    /// <summary>
    /// Idle sessions kept for reuse; beyond this, returned sessions are dropped (the replicas evict them in time). As
    /// many as writes a busy client keeps in flight: below that, every write over the cap would register a new client
    /// id, a round of consensus and a new session on every replica. Far below the replicas' own session limit
    /// (KvLimits.SessionsMaxDefault).
    /// </summary>
    public const int IdleSessionsMax = 1024;

    private readonly Stack<WriteSession> _idle = new();
    private readonly Lock _lock = new();

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

    /// <summary>The most recently returned idle session (so few ids stay in use), or null if none is idle.</summary>
    public WriteSession? TryRent()
    {
        lock (_lock)
        {
            return _idle.TryPop(out var session) ? session : null;
        }
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
    /// A random, non-zero 64-bit registration nonce from the cryptographic generator, so that registrations in flight
    /// from different processes and machines do not collide in practice (a collision would let one answer the other).
    /// </summary>
    public static ulong RandomNonce()
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        ulong nonce;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            nonce = BitConverter.ToUInt64(bytes);
        }
        while (nonce == 0);

        return nonce;
    }
}
