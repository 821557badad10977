using System.Buffers.Binary;
using System.IO.Hashing;

namespace Synod.Storage;

/// <summary>
/// A WAL record: a 12-byte header <c>[payload length u32][payload crc32c u32][header crc32c u32]</c>, the last over the
/// first eight bytes so that a damaged length is caught before it is trusted, then the payload
/// <c>[record version u8][type u8][fields][end mark u8]</c>. Integers are little-endian. See docs/storage.md.
/// </summary>
internal static class RecordFormat
{
    public const int HeaderBytes = 12;

    /// <summary>The version of the meta file and of snapshot files: format 1 was the single-file paxos.log.</summary>
    public const byte FormatVersion = 2;

    /// <summary>
    /// The version byte of the records written now: version 2 plus <see cref="EndMark"/> as the payload's last byte.
    /// Recovery reads both.
    /// </summary>
    public const byte RecordVersion = 3;

    /// <summary>Records of version 2 (before the end mark) are still read.</summary>
    public const byte RecordVersionWithoutEndMark = 2;

    /// <summary>
    /// The last byte of every version-3 payload. Never zero, so an intact record never ends in zeros: a run of zeros that
    /// reaches into a record and on to the end of the file is then what a crash leaves (sectors never written), and a
    /// damaged byte anywhere else leaves the mark in place and is refused (TornTailRule).
    /// </summary>
    public const byte EndMark = 0xA5;

    /// <summary>Version and type bytes: the smallest payload.</summary>
    public const int PayloadBytesMin = 2;

    /// <summary>The unit a disk writes atomically, and the smallest zero-filled run a crash leaves at the end of a file.</summary>
    public const int SectorBytes = 512;

    public static uint Checksum(ReadOnlySpan<byte> bytes) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, bytes);

    /// <summary>Fills the header in front of an encoded payload, with checksums computed from the bytes as encoded.</summary>
    public static void WriteHeader(Span<byte> header, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Checksum(payload));
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Checksum(header[..8]));
    }

    public static uint PayloadLength(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt32LittleEndian(header);

    public static uint PayloadChecksum(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);

    public static bool HeaderChecksumMatches(ReadOnlySpan<byte> header) =>
        BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) == Checksum(header[..8]);
}
