using System.Buffers.Binary;

namespace Synod.Storage;

/// <summary>
/// synod.meta: <c>["SYND"][meta version u32 = 3][replica id i32][cluster id u64][crc32c u32 of the first 20 bytes]</c>,
/// or, as written before cluster ids, <c>["SYND"][2][replica id i32][crc32c u32 of the first 12 bytes]</c>. The meta
/// file has its own version (3) since it gained the cluster id, so that a build from before cluster ids names the
/// version it cannot read instead of calling the file damaged. It is written last when a directory is initialised
/// (tmp, fsync, rename, fsync dir), so its presence means the state is complete.
/// </summary>
internal static class MetaFile
{
    public const int Bytes = 24;

    /// <summary>The length of a meta file written before cluster ids: it names no cluster.</summary>
    public const int BytesWithoutCluster = 16;

    private const uint Magic = 0x444E5953; // "SYND" read as little-endian

    /// <summary>The version of a meta file that names its cluster.</summary>
    public const uint Version = 3;

    /// <summary>The version of a meta file written before cluster ids (the log's format version then).</summary>
    public const uint VersionWithoutCluster = 2;

    public static byte[] Encode(int replicaId, ulong clusterId)
    {
        var bytes = new byte[Bytes];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), Version);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), replicaId);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(12), clusterId);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(20), RecordFormat.Checksum(bytes.AsSpan(0, 20)));
        return bytes;
    }

    /// <summary>
    /// The replica id and cluster id (0 in a file written before cluster ids) the file names, or a
    /// <see cref="StorageException"/> saying what is wrong with it.
    /// </summary>
    public static (int ReplicaId, ulong ClusterId) Decode(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.Length < 8 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
        {
            throw StorageMessages.Damaged(path, $"it does not begin with the Synod meta file's magic bytes ({bytes.Length} bytes long)");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if (version != Version && version != VersionWithoutCluster)
        {
            throw StorageMessages.UnsupportedFormat(path, 4, $"meta version {version}, and this build reads meta versions {VersionWithoutCluster} and {Version}");
        }

        // A version-2 file of 24 bytes was written by builds that stamped the cluster id before the meta file had its own version.
        var expected = version == Version ? Bytes : bytes.Length == Bytes ? Bytes : BytesWithoutCluster;
        var checksumAt = expected - 4;
        if (bytes.Length != expected ||
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[checksumAt..]) != RecordFormat.Checksum(bytes[..checksumAt]))
        {
            throw StorageMessages.Damaged(path, $"its length ({bytes.Length} bytes, expected {expected} for meta version {version}) or checksum is wrong");
        }

        var clusterId = bytes.Length == Bytes ? BinaryPrimitives.ReadUInt64LittleEndian(bytes[12..]) : 0;
        return (BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]), clusterId);
    }
}
