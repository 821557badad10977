using System.Runtime.InteropServices;
using Synod.Kv;
using Synod.Server;

namespace Synod.Tests.Server;

/// <summary>
/// The watch cache keeps built messages for a while; a value restored from a snapshot is a slice of the whole snapshot,
/// which a kept message must not hold (docs/performance.md, "Restored values as slices of the snapshot").
/// </summary>
public sealed class WatchEventCacheTests
{
    [Fact]
    public void A_cached_watch_message_copies_a_value_that_slices_a_larger_array_and_wraps_one_that_is_its_own()
    {
        var snapshot = new byte[64 * 1024];
        "restored"u8.CopyTo(snapshot.AsSpan(20));
        var restored = new KvEntry(snapshot.AsMemory(20, 8), 1, 1, 1);
        var written = new KvEntry("written"u8.ToArray(), 2, 2, 1);
        var cache = new WatchEventCache();

        var fromRestored = cache.Of(new KvEvent(3, "k"u8.ToArray(), written, restored), withPrevious: true).Message;

        Assert.Equal("restored"u8.ToArray(), fromRestored.PrevKv.Value.ToByteArray());
        Assert.False(MemoryMarshal.TryGetArray(fromRestored.PrevKv.Value.Memory, out var copied) && ReferenceEquals(copied.Array, snapshot),
            "the cached message holds the snapshot's array");
        var writtenArray = MemoryMarshal.TryGetArray(written.Value, out var segment) ? segment.Array : null;
        Assert.True(MemoryMarshal.TryGetArray(fromRestored.Kv.Value.Memory, out var own) && ReferenceEquals(own.Array, writtenArray),
            "a value that is its own array is wrapped, not copied");
        Assert.True(MemoryMarshal.TryGetArray(ProtoBytes.KeyValueOf("k"u8.ToArray(), restored).Value.Memory, out var wrapped) && ReferenceEquals(wrapped.Array, snapshot),
            "an answer sent at once wraps the value without a copy");
    }

    [Fact]
    public void A_cached_watch_message_wraps_a_value_that_is_a_slice_of_its_put_command()
    {
        var command = new KvCommand(1, 1, KvOperation.Put, "key"u8.ToArray(), "a value"u8.ToArray()).Encode();
        var state = new KvStateMachine();
        state.ApplySlot(1, [command]);
        Assert.True(state.TryGetEntry("key"u8, out var entry));

        var message = new WatchEventCache().Of(new KvEvent(1, "key"u8.ToArray(), entry, null), withPrevious: false).Message;

        Assert.Equal("a value"u8.ToArray(), message.Kv.Value.ToByteArray());
        Assert.True(MemoryMarshal.TryGetArray(message.Kv.Value.Memory, out var wrapped) && ReferenceEquals(wrapped.Array, command),
            "the put's value, a slice of its command, was copied into the cached message");
    }
}
