using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Synod.Server;

/// <summary>Bytes out of parsed protobuf messages without a second copy.</summary>
internal static class ProtoBytes
{
    /// <summary>
    /// The parser gives each ByteString its own array (it copies out of the frame buffer), and nothing keeps the
    /// parsed message afterwards: take that array rather than copy it again. Half of an Accept's decoding cost was
    /// this copy.
    /// </summary>
    public static byte[] OwnedArray(ByteString bytes) =>
        MemoryMarshal.TryGetArray(bytes.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToByteArray();

    /// <summary>A key and its entry as the wire carries them, wrapping the state machine's arrays without copying them.</summary>
    public static Protocol.KeyValue KeyValueOf(byte[] key, Kv.KvEntry entry) => new()
    {
        Key = UnsafeByteOperations.UnsafeWrap(key),
        Value = UnsafeByteOperations.UnsafeWrap(entry.Value),
        CreateRevision = entry.CreateRevision,
        ModRevision = entry.ModRevision,
        Version = entry.Version,
    };
}
