using System.Buffers.Binary;

namespace Synod.Storage;

/// <summary>
/// synod.meta: <c>["SYND"][format version u32][replica id i32][crc32c u32 of the first 12 bytes]</c>. It is written
/// last when a directory is initialised (tmp, fsync, rename, fsync dir), so its presence means the state is complete.
/// </summary>
internal static class MetaFile
{
    public const int Bytes = 16;
    private const uint Magic = 0x444E5953; // "SYND" read as little-endian

    public static byte[] Encode(int replicaId)
    {
        var bytes = new byte[Bytes];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), RecordFormat.FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), replicaId);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), RecordFormat.Checksum(bytes.AsSpan(0, 12)));
        return bytes;
    }

    /// <summary>The replica id the file names, or a <see cref="StorageException"/> saying what is wrong with it.</summary>
    public static int Decode(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.Length < 8 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
        {
            throw StorageMessages.Damaged(path, $"it does not begin with the Synod meta file's magic bytes ({bytes.Length} bytes long)");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if (version != RecordFormat.FormatVersion)
        {
            throw StorageMessages.UnsupportedFormat(path, 4, $"format version {version}, and this build reads format {RecordFormat.FormatVersion}");
        }

        if (bytes.Length != Bytes || BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]) != RecordFormat.Checksum(bytes[..12]))
        {
            throw StorageMessages.Damaged(path, $"its length ({bytes.Length} bytes, expected {Bytes}) or checksum is wrong");
        }

        return BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
    }
}
