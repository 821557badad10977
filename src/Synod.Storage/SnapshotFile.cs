using System.Buffers.Binary;
using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>
/// snap/&lt;slot&gt;.snap: a 28-byte header <c>["SNAP"][format version u32][slot i64][data length u32][data crc32c u32]
/// [header crc32c u32 of the first 24 bytes]</c>, then the state machine's snapshot bytes.
/// </summary>
internal static class SnapshotFile
{
    public const int HeaderBytes = 28;
    private const uint Magic = 0x50414E53; // "SNAP" read as little-endian

    /// <summary>The whole file: <see cref="Header"/>, then the data.</summary>
    public static byte[] Encode(long slot, ReadOnlySpan<byte> data)
    {
        var bytes = new byte[HeaderBytes + data.Length];
        Header(slot, data).CopyTo(bytes, 0);
        data.CopyTo(bytes.AsSpan(HeaderBytes));
        return bytes;
    }

    /// <summary>The file's header for <paramref name="data"/>, which is to follow it unchanged.</summary>
    public static byte[] Header(long slot, ReadOnlySpan<byte> data)
    {
        var header = new byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), RecordFormat.FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), slot);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), RecordFormat.Checksum(data));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), RecordFormat.Checksum(header.AsSpan(0, 24)));
        return header;
    }

    /// <summary>The snapshot the file holds, or a <see cref="StorageException"/> naming the file and the check that failed.</summary>
    public static SnapshotOp Decode(ReadOnlySpan<byte> bytes, string path, long expectedSlot, int snapshotBytesMax) =>
        Decode(bytes[..Math.Min(HeaderBytes, bytes.Length)].ToArray(), bytes[Math.Min(HeaderBytes, bytes.Length)..].ToArray(), path, expectedSlot, snapshotBytesMax);

    /// <summary>
    /// <see cref="Decode(ReadOnlySpan{byte}, string, long, int)"/> for a file read as its header and its data: the
    /// snapshot keeps <paramref name="data"/> itself, with no copy.
    /// </summary>
    public static SnapshotOp Decode(byte[] header, byte[] data, string path, long expectedSlot, int snapshotBytesMax)
    {
        var bytes = header.AsSpan();
        if (bytes.Length < HeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
        {
            throw StorageMessages.Corrupt(path, 0, $"it is not a Synod snapshot file (no magic bytes, or shorter than its {HeaderBytes}-byte header)", "snapshot");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]) != RecordFormat.Checksum(bytes[..24]))
        {
            throw StorageMessages.Corrupt(path, 0, "the snapshot header's checksum does not match", "snapshot");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if (version != RecordFormat.FormatVersion)
        {
            throw StorageMessages.UnsupportedFormat(path, 4, $"a snapshot of format version {version}, and this build reads format {RecordFormat.FormatVersion}");
        }

        var slot = BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]);
        if (slot != expectedSlot || length > (uint)snapshotBytesMax || length != data.Length)
        {
            throw StorageMessages.Corrupt(path, 8, $"the header says slot {slot} and {length} bytes, but the file is named for slot {expectedSlot}, " +
                $"holds {data.Length} bytes of data, and SnapshotBytesMax is {snapshotBytesMax}", "snapshot");
        }

        if (RecordFormat.Checksum(data) != BinaryPrimitives.ReadUInt32LittleEndian(bytes[20..]))
        {
            throw StorageMessages.Corrupt(path, HeaderBytes, "the snapshot data's checksum does not match", "snapshot");
        }

        return new SnapshotOp(slot, data);
    }
}
