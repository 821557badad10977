using System.Text;

namespace Synod.Client;

/// <summary>A value read from the store.</summary>
/// <param name="Value">The value's bytes.</param>
/// <param name="ServedBy">The id of the replica that answered.</param>
/// <param name="AppliedSlot">The slot that replica had applied when it answered.</param>
/// <param name="LagSlots">For a stale read, how many chosen slots the replica may be behind; 0 when current.</param>
/// <param name="Endpoint">The replica ("host:port") that answered.</param>
/// <param name="Revision">The cluster revision the read reflects.</param>
/// <param name="CreateRevision">The revision that created the key.</param>
/// <param name="ModRevision">The revision that last wrote it: the operand of <see cref="SynodCompare.ModRevisionIs"/>.</param>
/// <param name="Version">Its writes since it was created: the operand of <see cref="SynodCompare.VersionIs"/>.</param>
public sealed record GetResult(
    ReadOnlyMemory<byte> Value, uint ServedBy, ulong AppliedSlot, ulong LagSlots, string Endpoint,
    long Revision = 0, long CreateRevision = 0, long ModRevision = 0, long Version = 0)
{
    /// <summary>The value decoded as UTF-8 (invalid sequences become U+FFFD).</summary>
    public string ValueAsString() => Encoding.UTF8.GetString(Value.Span);
}
