namespace Synod.Client;

/// <summary>
/// One exactly-once session: a client id that the replicas assigned (Register) and the sequence its next write takes.
/// A registered id has a session from the start, so any sequence above the last one applied is accepted.
/// </summary>
/// <param name="ClientId">Assigned by a registration, never 0.</param>
/// <param name="NextSequence">The sequence of the next write, from 1.</param>
internal readonly record struct WriteSession(ulong ClientId, ulong NextSequence)
{
    public static WriteSession Registered(ulong clientId) => new(clientId, 1);

    /// <summary>
    /// The session to use after a write under it ended as <paramref name="end"/>, or null to abandon the id.
    /// Acknowledged or not, the next write takes the next sequence: the session exists since the registration, and a
    /// late copy of an unacknowledged write becomes stale once a later sequence is applied. Session expired: abandon,
    /// the replicas have forgotten it.
    /// </summary>
    public WriteSession? After(WriteEnd end) => end switch
    {
        WriteEnd.Acknowledged or WriteEnd.NotAcknowledged => this with { NextSequence = NextSequence + 1 },
        _ => null,
    };
}
