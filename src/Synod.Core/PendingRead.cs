namespace Synod.Core;

/// <summary>
/// A read waiting at the leader: it may be served once a quorum has confirmed, in a heartbeat round started
/// after the read arrived, that the leader's ballot still stands, and once Index is chosen.
/// </summary>
internal sealed class PendingRead
{
    public PendingRead(int requester, long readId, long index)
    {
        Requester = requester;
        ReadId = readId;
        Index = index;
    }

    public int Requester { get; }

    public long ReadId { get; }

    /// <summary>The slot the read is served at; raised when its round starts (I24), never lowered.</summary>
    public long Index { get; set; }

    /// <summary>The heartbeat round that confirms this read; 0 until one is started.</summary>
    public long Round { get; set; }

    public bool Confirmed { get; set; }
}
