namespace Synod.Core;

/// <summary>
/// A snapshot being received from a peer, chunk by chunk: counted in order, though a chunk that overtook a late one
/// within the window asked for is kept in place (<see cref="Ahead"/>) rather than sent again.
/// </summary>
internal sealed class IncomingSnapshot(int from, long slot, byte[] data)
{
    public int From { get; } = from;

    public long Slot { get; } = slot;

    public byte[] Data { get; } = data;

    public int Received { get; set; }

    /// <summary>The tick its first chunk came: tells this transfer from an earlier one of the same snapshot from the same source (for progress lines only).</summary>
    public long StartedTick { get; init; }

    /// <summary>When the last chunk arrived; a transfer that stopped making progress may be abandoned for another source.</summary>
    public long LastProgressTick { get; set; }

    /// <summary>
    /// The end of the window of chunks asked for (SnapshotChunksInFlight of them): while chunks short of it keep coming,
    /// nothing more is asked; once it is reached, or no chunk came for RetransmitTicks, the next window is asked for.
    /// </summary>
    public long RequestedUpTo { get; set; }

    /// <summary>
    /// How long a window may go without a chunk in order before it is asked for again: RetransmitTicks, or twice the
    /// wait for the last chunk if that was longer, doubled each time it is asked again (at most ElectionTimeoutTicks).
    /// </summary>
    public long ReaskTicks { get; set; }

    /// <summary>Chunks already copied into <see cref="Data"/> beyond <see cref="Received"/>: offset and length; at most SnapshotChunksInFlight.</summary>
    public Dictionary<long, int> Ahead { get; } = [];

    /// <summary>Counts the kept chunks that now follow on from <see cref="Received"/>, and forgets those it passed.</summary>
    public void TakeAhead()
    {
        while (Ahead.Remove(Received, out var length))
        {
            Received += length;
        }

        if (Ahead.Count == 0)
        {
            return;
        }

        foreach (var offset in Ahead.Keys.Where(o => o < Received).ToList())
        {
            Ahead.Remove(offset);
        }
    }
}
