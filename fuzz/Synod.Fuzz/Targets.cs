using System.Buffers.Binary;
using System.IO.Hashing;
using Google.Protobuf;
using Synod.Core;
using Synod.Kv;
using Synod.Protocol.Peer;
using Synod.Server;

namespace Synod.Fuzz;

/// <summary>
/// The decoders of bytes from outside, each with the one refusal its caller handles: the same targets, under the same
/// names, as tests/Synod.Tests/Fuzz/DecoderFuzzTests.cs, so a crash found here goes into that test's corpus folder.
/// </summary>
internal static class Targets
{
    private const int SnapshotHeaderBytes = 17;
    private const int SnapshotBodyLengthOffset = 5;
    private const int SnapshotChecksumOffset = 13;

    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("kv-command", bytes => KvCommand.Decode(bytes), [typeof(KvFormatException)], Seeds.KvCommands),
        new("kv-auth-change", bytes => KvAuthChange.Decode(bytes), [typeof(KvFormatException)], Seeds.AuthChanges),
        new("kv-snapshot", bytes => KvStateMachine.Restore(bytes), [typeof(KvFormatException)], Seeds.Snapshots),
        new("kv-snapshot-body", bytes => KvStateMachine.Restore(Resealed(bytes)), [typeof(KvFormatException)], Seeds.Snapshots),
        new("wal-record", StorageInternals.Decode, [StorageInternals.MalformedRecordException], Seeds.WalRecords),
        new("peer-message", DecodePeerMessage, [typeof(InvalidProtocolBufferException), typeof(FormatException)], Seeds.PeerMessages),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(target => target.Name == name);

    /// <summary>
    /// The options are made on each call, not once in a static field: code in the instrumented assemblies must not run
    /// before SharpFuzz's fork server has mapped AFL's coverage memory (it dies of an AccessViolationException there).
    /// </summary>
    private static void DecodePeerMessage(byte[] bytes)
    {
        var pb = PeerMessage.Parser.ParseFrom(bytes);
        var message = PeerMessageCodec.Decode(2, pb);
        _ = PeerMessageRules.Violation(message, new ReplicaOptions { Id = 1, Members = [1, 2, 3] });
    }

    /// <summary>
    /// The input with its snapshot header's body length and CRC32C made right (an input shorter than the header is left
    /// as it is), so that mutations reach the body's decoders instead of stopping at the checksum.
    /// </summary>
    public static byte[] Resealed(byte[] input)
    {
        if (input.Length < SnapshotHeaderBytes)
        {
            return input;
        }

        var sealedInput = input.ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(sealedInput.AsSpan(SnapshotBodyLengthOffset), (ulong)(input.Length - SnapshotHeaderBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(sealedInput.AsSpan(SnapshotChecksumOffset),
            Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, sealedInput.AsSpan(SnapshotHeaderBytes)));
        return sealedInput;
    }
}
