using Synod.Client;
using Synod.Kv;

namespace Synod.Tests.Client;

/// <summary>The client's session rules, checked against the state machine rules they follow from (Kv README, "Client sessions").</summary>
public sealed class WriteSessionTests
{
    [Fact]
    public void An_acknowledged_write_establishes_the_id_and_moves_to_the_next_sequence()
    {
        var next = WriteSession.Fresh(7).After(WriteEnd.Acknowledged);

        Assert.Equal(new WriteSession(7, 2, Established: true), next);
    }

    [Fact]
    public void An_unacknowledged_write_on_an_established_id_keeps_the_id_and_skips_its_sequence()
    {
        var next = new WriteSession(7, 4, Established: true).After(WriteEnd.NotAcknowledged);

        Assert.Equal(new WriteSession(7, 5, Established: true), next);
    }

    [Fact]
    public void An_unacknowledged_first_write_abandons_the_id()
    {
        Assert.Null(WriteSession.Fresh(7).After(WriteEnd.NotAcknowledged));
    }

    [Fact]
    public void An_expired_session_abandons_the_id_even_when_established()
    {
        Assert.Null(new WriteSession(7, 4, Established: true).After(WriteEnd.SessionExpired));
    }

    [Fact]
    public void Rule_no_session_and_sequence_above_1_is_refused_so_a_lost_first_write_must_not_be_followed_by_sequence_2()
    {
        // Sequence 1 of client 7 was lost (never applied); reusing the id with sequence 2 would be refused.
        var machine = new KvStateMachine();
        var second = new KvCommand(7, 2, KvOperation.Put, "k"u8.ToArray(), "v"u8.ToArray());

        var result = machine.ApplySlot(1, [second.Encode()])[0];

        Assert.Equal(KvStatus.SessionExpired, result.Status);
    }

    [Fact]
    public void Rule_a_skipped_sequence_is_accepted_and_a_late_copy_of_the_lost_write_is_stale()
    {
        // Established client 7 lost the answer to sequence 2, moved on to 3; then the lost write arrives late.
        var machine = new KvStateMachine();
        machine.ApplySlot(1, [new KvCommand(7, 1, KvOperation.Put, "k"u8.ToArray(), "a"u8.ToArray()).Encode()]);
        var third = machine.ApplySlot(2, [new KvCommand(7, 3, KvOperation.Put, "k"u8.ToArray(), "c"u8.ToArray()).Encode()])[0];
        var late = machine.ApplySlot(3, [new KvCommand(7, 2, KvOperation.Put, "k"u8.ToArray(), "b"u8.ToArray()).Encode()])[0];

        Assert.Equal(KvStatus.Ok, third.Status);
        Assert.Equal(KvStatus.StaleSequence, late.Status);
    }
}
