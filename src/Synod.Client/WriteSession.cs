namespace Synod.Client;

/// <summary>
/// One exactly-once session: a client id, the sequence its next write takes, and whether any write under it
/// was acknowledged. The state machine opens a session only with sequence 1 and refuses a higher sequence from
/// an id it does not know, so an id counts as established only after an acknowledgement.
/// </summary>
/// <param name="ClientId">Random and never 0.</param>
/// <param name="NextSequence">The sequence of the next write, from 1.</param>
/// <param name="Established">True once a write under this id was acknowledged.</param>
internal readonly record struct WriteSession(ulong ClientId, ulong NextSequence, bool Established)
{
    public static WriteSession Fresh(ulong clientId) => new(clientId, 1, Established: false);

    /// <summary>
    /// The session to use after a write under it ended as <paramref name="end"/>, or null to abandon the id.
    /// Acknowledged: established, next sequence. Session expired: abandon, the replicas have forgotten it.
    /// Not acknowledged: an established id moves on to the next sequence (any number above the last applied is
    /// accepted, and a late copy of this write becomes stale); an id never acknowledged is abandoned, because if
    /// its sequence 1 never took effect, sequence 2 would be refused for lack of a session.
    /// </summary>
    public WriteSession? After(WriteEnd end) => end switch
    {
        WriteEnd.Acknowledged => this with { NextSequence = NextSequence + 1, Established = true },
        WriteEnd.NotAcknowledged when Established => this with { NextSequence = NextSequence + 1 },
        _ => null,
    };
}
