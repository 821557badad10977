namespace Synod.Storage;

/// <summary>The last record of a segment, at <paramref name="Offset"/>, as it was written: its end mark restored.</summary>
internal sealed record RepairedRecord(long Offset, byte[] Bytes);
