using System.Text;
using Synod.Kv;

namespace Synod.Tests.Kv;

/// <summary>
/// The sorted key index against a sorted model: keys appended past the largest (a restore, keys written in order) and
/// keys added anywhere else, removed (the largest among them, so that appends follow a deleted largest key) and added
/// twice, with the index's shape checked (chunks of 1 to ChunkMax keys, in order, the count and largest key kept).
/// </summary>
public sealed class SortedKeyIndexTests
{
    [Fact]
    public void Appends_inserts_removals_and_repeats_keep_the_index_equal_to_a_sorted_model_and_its_chunks_in_shape()
    {
        var random = new Random(76);
        var index = new SortedKeyIndex();
        var model = new SortedSet<string>(StringComparer.Ordinal);
        var next = 0;
        static byte[] Key(int n) => Encoding.ASCII.GetBytes($"k/{n:D7}");
        for (var step = 0; step < 30_000; step++)
        {
            var roll = random.Next(10);
            if (roll < 5)
            {
                // Past the largest: in order, several chunks' worth between the other steps.
                next += 1 + random.Next(3);
                Assert.True(index.Add(Key(next)));
                model.Add(Encoding.ASCII.GetString(Key(next)));
            }
            else if (roll < 8)
            {
                var n = random.Next(next + 1);
                var added = model.Add(Encoding.ASCII.GetString(Key(n)));
                Assert.Equal(added, index.Add(Key(n)));
            }
            else
            {
                // Now and then the largest itself, so that the next appends follow a removed largest key.
                var n = roll == 9 && model.Count > 0 ? int.Parse(model.Max![2..]) : random.Next(next + 1);
                Assert.Equal(model.Remove(Encoding.ASCII.GetString(Key(n))), index.Remove(Key(n)));
            }

            if (step % 1_000 == 999)
            {
                Assert.Null(index.Problem());
                Assert.Equal(model, index.Select(Encoding.ASCII.GetString));
                Assert.Equal(model.Count, index.Count);
                Assert.Equal(model.Max, index.Max is null ? null : Encoding.ASCII.GetString(index.Max));
            }
        }

        Assert.True(index.Count > 2 * SortedKeyIndex.ChunkMax, $"only {index.Count} keys: too few chunks to test");
    }

    [Fact]
    public void A_key_appended_while_the_index_is_read_stops_the_reading()
    {
        var index = new SortedKeyIndex();
        index.Add("a"u8.ToArray());
        index.Add("b"u8.ToArray());
        using var reading = index.Between("a"u8.ToArray(), null).GetEnumerator();
        Assert.True(reading.MoveNext());
        index.Add("c"u8.ToArray());
        Assert.Throws<InvalidOperationException>(() => reading.MoveNext());
    }
}
