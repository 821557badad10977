using System.Text;
using Synod.Core;
using Synod.Kv;

namespace Synod.Benchmarks;

/// <summary>
/// The client commands every benchmark carries: a Put of a 16-byte key and a 256-byte value, encoded as
/// <see cref="KvCommand.Encode"/> writes it, under a random 64-bit client id as <c>WriteSessionPool</c> draws them
/// (so the id takes 9 or 10 varint bytes, as on the wire). Seeded, so every run carries the same bytes.
/// </summary>
internal static class SampleCommands
{
    public const int KeyBytes = 16;
    public const int ValueBytes = 256;

    /// <summary>The key of index <paramref name="keyIndex"/>: "key-" and twelve digits, 16 bytes.</summary>
    public static byte[] Key(long keyIndex) => Encoding.ASCII.GetBytes($"key-{keyIndex:D12}");

    /// <summary>A value of seeded random bytes (random, so nothing downstream gets an easy ride on zeros).</summary>
    public static byte[] Value(ulong seed)
    {
        var random = new SeededRandom(seed);
        var value = new byte[ValueBytes];
        for (var i = 0; i < value.Length; i++)
        {
            value[i] = (byte)random.NextUInt64();
        }

        return value;
    }

    /// <summary>Client ids as the client library makes them: random, non-zero, 64 bits.</summary>
    public static ulong[] ClientIds(int count, ulong seed)
    {
        var random = new SeededRandom(seed);
        var ids = new ulong[count];
        for (var i = 0; i < count; i++)
        {
            do
            {
                ids[i] = random.NextUInt64();
            }
            while (ids[i] == 0);
        }

        return ids;
    }

    public static byte[] Put(ulong clientId, ulong sequence, long keyIndex, byte[] value) =>
        new KvCommand(clientId, sequence, KvOperation.Put, Key(keyIndex), value).Encode();

    /// <summary>A slot's worth of puts from <paramref name="count"/> different clients, each at its first sequence.</summary>
    public static byte[][] Batch(int count)
    {
        var clients = ClientIds(count, seed: 11);
        var value = Value(seed: 12);
        var batch = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            batch[i] = Put(clients[i], sequence: 1, keyIndex: i, value);
        }

        return batch;
    }

    /// <summary>
    /// Puts keys 0 to <paramref name="keyCount"/> - 1 into <paramref name="kv"/>, key i from client i mod the clients at
    /// its next sequence, in slots of <paramref name="slotCommands"/> commands after <paramref name="slot"/> (advanced).
    /// </summary>
    public static void Fill(KvStateMachine kv, ulong[] clients, ulong[] sequences, int keyCount, byte[] value, int slotCommands, ref long slot)
    {
        var fill = new List<byte[]>();
        for (var key = 0; key < keyCount; key++)
        {
            var client = key % clients.Length;
            fill.Add(Put(clients[client], ++sequences[client], key, value));
            if (fill.Count == slotCommands || key == keyCount - 1)
            {
                kv.ApplySlot(++slot, fill);
                fill.Clear();
            }
        }
    }
}
