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
    /// revision fields) of a format-3, 4 or 5 snapshot. Its revisions (and history and leases) are dropped, so it is what a
    /// build before revisions would have written for the same keys and sessions.
    /// </summary>
    public static byte[] Format2(byte[] format3)
    {
        ArgumentNullException.ThrowIfNull(format3);
        if (format3.Length < HeaderBytes || format3[4] is not (3 or 4 or 5))
        {
            throw new ArgumentException("expected a format-3, 4 or 5 snapshot", nameof(format3));
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

        return Seal(2, body.ToArray());
    }

    /// <summary>
    /// The format-3 snapshot (revisions, no history) of a format-4 or 5 snapshot: its body up to the history section, which
    /// is byte for byte what the build before history wrote for the same keys and sessions.
    /// </summary>
    public static byte[] Format3(byte[] format4)
    {
        ArgumentNullException.ThrowIfNull(format4);
        if (format4.Length < HeaderBytes || format4[4] is not (4 or 5))
        {
            throw new ArgumentException("expected a format-4 or 5 snapshot", nameof(format4));
        }

        var input = format4.AsSpan(HeaderBytes);
        var position = 0;
        Skip(input, ref position); // applied slot
        Skip(input, ref position); // last client id
        Skip(input, ref position); // revision
        position++; // revisions started
        var keys = Read(input, ref position);
        for (ulong key = 0; key < keys; key++)
        {
            SkipBytes(input, ref position); // key
            SkipBytes(input, ref position); // value
            for (var field = 0; field < 3; field++)
            {
                Skip(input, ref position);
            }
        }

        var sessions = Read(input, ref position);
        for (ulong session = 0; session < sessions; session++)
        {
            Skip(input, ref position); // client id
            Skip(input, ref position); // last sequence
            position++; // last status
            for (var field = 0; field < 5; field++)
            {
                Skip(input, ref position);
            }
        }

        return Seal(3, input[..position].ToArray());
    }

    private static byte[] Seal(byte version, byte[] body)
    {
        var snapshot = new byte[HeaderBytes + body.Length];
        "SYKV"u8.CopyTo(snapshot);
        snapshot[4] = version;
        BinaryPrimitives.WriteUInt64LittleEndian(snapshot.AsSpan(5), (ulong)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(snapshot.AsSpan(13), Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, body));
        body.CopyTo(snapshot.AsSpan(HeaderBytes));
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

    private static void SkipBytes(ReadOnlySpan<byte> input, ref int position)
    {
        var length = (int)Read(input, ref position);
        position += length;
    }

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
