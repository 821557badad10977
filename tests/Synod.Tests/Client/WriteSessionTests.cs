using Synod.Client;
using Synod.Kv;
using Synod.Tests.Kv;

namespace Synod.Tests.Client;

/// <summary>The client's session rules, checked against the state machine rules they follow from (Kv README, "Client sessions").</summary>
public sealed class WriteSessionTests
{
    [Fact]
    public void An_acknowledged_write_moves_to_the_next_sequence()
    {
        var next = WriteSession.Registered(7).After(WriteEnd.Acknowledged);

        Assert.Equal(new WriteSession(7, 2), next);
    }

    [Fact]
    public void An_unacknowledged_write_keeps_the_id_and_skips_its_sequence_even_the_first()
    {
        Assert.Equal(new WriteSession(7, 2), WriteSession.Registered(7).After(WriteEnd.NotAcknowledged));
        Assert.Equal(new WriteSession(7, 5), new WriteSession(7, 4).After(WriteEnd.NotAcknowledged));
    }

    [Fact]
    public void An_expired_session_abandons_the_id()
    {
        Assert.Null(new WriteSession(7, 4).After(WriteEnd.SessionExpired));
    }

    [Fact]
    public void Rule_a_registered_id_whose_first_write_was_lost_may_go_on_with_sequence_2()
    {
        // Client 1's sequence 1 was lost (never applied); the session exists since the registration, so 2 is applied.
        var machine = new KvStateMachine();
        var registered = machine.ApplySlot(1, [KvTestCommands.Register(nonce: 9)])[0];
        var second = machine.ApplySlot(2, [new KvCommand(registered.RegisteredClientId, 2, KvOperation.Put, "k"u8.ToArray(), "v"u8.ToArray()).Encode()])[0];

        Assert.Equal(1UL, registered.RegisteredClientId);
        Assert.Equal(KvStatus.Ok, second.Status);
    }

    [Fact]
    public void Rule_a_skipped_sequence_is_accepted_and_a_late_copy_of_the_lost_write_is_stale()
    {
        // Client 1 lost the answer to sequence 2, moved on to 3; then the lost write arrives late.
        var machine = KvTestCommands.WithClients(1);
        machine.ApplySlot(2, [new KvCommand(1, 1, KvOperation.Put, "k"u8.ToArray(), "a"u8.ToArray()).Encode()]);
        var third = machine.ApplySlot(3, [new KvCommand(1, 3, KvOperation.Put, "k"u8.ToArray(), "c"u8.ToArray()).Encode()])[0];
        var late = machine.ApplySlot(4, [new KvCommand(1, 2, KvOperation.Put, "k"u8.ToArray(), "b"u8.ToArray()).Encode()])[0];

        Assert.Equal(KvStatus.Ok, third.Status);
        Assert.Equal(KvStatus.StaleSequence, late.Status);
    }
}
