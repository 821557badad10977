using System.Buffers.Binary;
using System.IO.Hashing;

namespace Synod.Tests.Kv;

/// <summary>
/// Snapshots as older builds wrote them, made from this build's: for tests and the simulator's upgrade fault, which
/// must restore what a replica of an earlier build left on its disk.
/// </summary>
public static class KvSnapshotFormats
{
    private const int HeaderBytes = 17;

    /// <summary>
    /// The format-2 snapshot (before revisions: applied slot, last client id, keys with values, sessions without the
    /// revision fields) of a format-3 or format-4 snapshot. Its revisions (and history) are dropped, so it is what a
    /// build before revisions would have written for the same keys and sessions.
    /// </summary>
    public static byte[] Format2(byte[] format3)
    {
        ArgumentNullException.ThrowIfNull(format3);
        if (format3.Length < HeaderBytes || format3[4] is not (3 or 4))
        {
            throw new ArgumentException("expected a format-3 or format-4 snapshot", nameof(format3));
        }

        var input = format3.AsSpan(HeaderBytes);
        var position = 0;
        var body = new List<byte>();
        Copy(input, ref position, body); // applied slot
        Copy(input, ref position, body); // last client id
        Skip(input, ref position); // revision
        position++; // revisions started
        var keys = Copy(input, ref position, body);
        for (ulong key = 0; key < keys; key++)
        {
            CopyBytes(input, ref position, body);
            CopyBytes(input, ref position, body);
            Skip(input, ref position);
            Skip(input, ref position);
            Skip(input, ref position);
        }

        var sessions = Copy(input, ref position, body);
        for (ulong session = 0; session < sessions; session++)
        {
            Copy(input, ref position, body); // client id
            Copy(input, ref position, body); // last sequence
            body.Add(input[position++]); // last status
            Copy(input, ref position, body); // last used slot
            for (var field = 0; field < 4; field++)
            {
                Skip(input, ref position);
            }
        }

        var bytes = body.ToArray();
        var snapshot = new byte[HeaderBytes + bytes.Length];
        "SYKV"u8.CopyTo(snapshot);
        snapshot[4] = 2;
        BinaryPrimitives.WriteUInt64LittleEndian(snapshot.AsSpan(5), (ulong)bytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(snapshot.AsSpan(13), Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, bytes));
        bytes.CopyTo(snapshot.AsSpan(HeaderBytes));
        return snapshot;
    }

    private static ulong Read(ReadOnlySpan<byte> input, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var next = input[position++];
            value |= (ulong)(next & 0x7f) << shift;
            if ((next & 0x80) == 0)
            {
                return value;
            }
        }
    }

    private static void Skip(ReadOnlySpan<byte> input, ref int position) => Read(input, ref position);

    private static ulong Copy(ReadOnlySpan<byte> input, ref int position, List<byte> output)
    {
        var start = position;
        var value = Read(input, ref position);
        output.AddRange(input[start..position]);
        return value;
    }

    private static void CopyBytes(ReadOnlySpan<byte> input, ref int position, List<byte> output)
    {
        var length = (int)Copy(input, ref position, output);
        output.AddRange(input.Slice(position, length));
        position += length;
    }
}
