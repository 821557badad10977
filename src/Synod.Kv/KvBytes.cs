namespace Synod.Kv;

/// <summary>Appending the log's encodings to a growing list, for encodings whose size is not known ahead (transactions, auth).</summary>
internal static class KvBytes
{
    public static void AppendVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }

    /// <summary>A length varint followed by the bytes.</summary>
    public static void Append(List<byte> output, ReadOnlySpan<byte> bytes)
    {
        AppendVarint(output, (ulong)bytes.Length);
        output.AddRange(bytes);
    }
}
