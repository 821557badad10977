namespace Synod.Core;

/// <summary>A snapshot being received from a peer, chunk by chunk, in order.</summary>
internal sealed class IncomingSnapshot(int from, long slot, byte[] data)
{
    public int From { get; } = from;

    public long Slot { get; } = slot;

    public byte[] Data { get; } = data;

    public int Received { get; set; }

    /// <summary>When the last chunk arrived; a transfer that stopped making progress may be abandoned for another source.</summary>
    public long LastProgressTick { get; set; }
}
