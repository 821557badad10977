using Synod.Kv;
using static Synod.Tests.Kv.KvTestCommands;

namespace Synod.Tests.Kv;

/// <summary>A state seeded from saved keys (`synod snapshot restore --id`): the keys keep their revisions, and bad entries are refused naming which.</summary>
public sealed class KvSeedTests
{
    private static KvEntry Entry(KvStateMachine machine, string key) => machine.TryGetEntry(Bytes(key), out var entry) ? entry : throw new KeyNotFoundException(key);

    private static (byte[] Key, KvEntry Entry) E(string key, long create, long mod, long version) => (Bytes(key), new KvEntry(Bytes($"v-{key}"), create, mod, version));

    [Fact]
    public void A_seeded_state_holds_the_keys_with_their_revisions_restores_alike_and_numbers_the_next_write_after_them()
    {
        (byte[], KvEntry)[] entries = [E("a", 1, 4, 2), E("b", 2, 2, 1), E("c", 3, 3, 1)];
        var seeded = KvStateMachine.Seeded(1, 5, entries);
        var again = KvStateMachine.Seeded(1, 5, entries);
        Assert.Equal(seeded.Snapshot(), again.Snapshot());
        var restored = KvStateMachine.Restore(seeded.Snapshot());
        Assert.Equal(seeded.ContentHash(), restored.ContentHash());
        Assert.Equal(new KvEntry(Bytes("v-a"), 1, 4, 2), Entry(restored, "a"));
        Assert.Equal(6, seeded.CompactRevision);

        var put = restored.ApplySlot(2, [new KvCommand(0, 1, KvOperation.Register, [], []).Encode()])[0];
        var write = restored.ApplySlot(3, [new KvCommand(put.RegisteredClientId, 1, KvOperation.Put, Bytes("b"), Bytes("new")).Encode()])[0];
        Assert.Equal(KvStatus.Ok, write.Status);
        Assert.Equal(new KvEntry(Bytes("new"), 2, 6, 2), Entry(restored, "b"));
    }

    [Theory]
    [InlineData("b", 1, 1, 1, "out of order")]
    [InlineData("z", 1, 9, 1, "mod revision 9")]
    [InlineData("z", 0, 1, 1, "create revision 0")]
    [InlineData("z", 2, 3, 4, "version 4")]
    public void A_saved_key_out_of_order_or_with_impossible_revisions_is_refused_naming_it(string key, long create, long mod, long version, string mentions)
    {
        var refused = Assert.Throws<KvFormatException>(() => KvStateMachine.Seeded(1, 5, [E("b", 1, 1, 1), E(key, create, mod, version)]));
        Assert.Contains("#1", refused.Message);
        Assert.Contains(mentions, refused.Message);
    }
}
