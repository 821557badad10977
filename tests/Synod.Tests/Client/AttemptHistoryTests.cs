using Synod.Client;

namespace Synod.Tests.Client;

public sealed class AttemptHistoryTests
{
    private static readonly TimeSpan Tried = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_write_that_never_connected_is_unreachable_and_not_applied()
    {
        var history = new AttemptHistory("put", isWrite: true);
        history.Record("127.0.0.1:7001", RpcFailureKind.ConnectFailed, "connection refused");
        history.Record("127.0.0.1:7002", RpcFailureKind.ConnectFailed, "connection refused");

        var error = history.Exhausted(Tried);

        var unreachable = Assert.IsType<SynodUnreachableException>(error);
        Assert.False(unreachable.OutcomeUnknown);
        Assert.Equal(2, unreachable.Attempts);
        Assert.Equal(
            "no replica could be connected: tried 2 replicas in 2 attempts over 10.0 s; last error from 127.0.0.1:7002: connection refused. The write was not applied.",
            unreachable.Message);
    }

    [Fact]
    public void A_last_attempt_cut_short_by_the_deadline_before_its_channel_ever_connected_leaves_the_cluster_unreachable()
    {
        // Seen in CI under load: every attempt was refused a connection, and the last one, given only what was left of
        // the deadline, timed out while its channel waited to connect; it was taken for a replica reached (exit 4, not 5).
        var read = new AttemptHistory("get", isWrite: false);
        read.Record("127.0.0.1:1", RpcFailureKind.ConnectFailed, "connection refused");
        read.Record("127.0.0.1:1", RpcFailureKind.Unanswered, "no answer within 0.05 s", neverConnected: true);
        Assert.IsType<SynodUnreachableException>(read.Exhausted(Tried));

        // A write stays "outcome unknown" all the same: the channel may have connected and sent it unseen.
        var write = new AttemptHistory("put", isWrite: true);
        write.Record("127.0.0.1:1", RpcFailureKind.Unanswered, "no answer within 0.05 s", neverConnected: true);
        var error = Assert.IsType<SynodUnreachableException>(write.Exhausted(Tried));
        Assert.True(error.OutcomeUnknown);
        Assert.DoesNotContain("was not applied", error.Message, StringComparison.Ordinal);

        // Seen in CI under load: the error that kept the channels from connecting (a refused TLS handshake) is what the
        // operation reports, not the last attempt's deadline, cut to nothing, on a channel that never connected.
        var refused = new AttemptHistory("get", isWrite: false);
        refused.Record("127.0.0.1:7001", RpcFailureKind.Unanswered, "it closed the connection before HTTP/2 began (... give --cert and --key)");
        refused.Record("127.0.0.1:7002", RpcFailureKind.Unanswered, "no answer within 0.0 s", neverConnected: true);
        Assert.Contains("give --cert and --key", refused.Exhausted(Tried).Message, StringComparison.Ordinal);

        // On a channel that did connect, a timeout means a replica was reached.
        var reached = new AttemptHistory("get", isWrite: false);
        reached.Record("127.0.0.1:7001", RpcFailureKind.Unanswered, "no answer within 2 s");
        Assert.IsNotType<SynodUnreachableException>(reached.Exhausted(Tried));
    }

    [Fact]
    public void A_write_a_replica_answered_unavailable_has_an_unknown_outcome_and_quotes_the_replica()
    {
        var history = new AttemptHistory("put", isWrite: true);
        history.Record("127.0.0.1:7001", RpcFailureKind.ConnectFailed, "connection refused");
        history.Record("127.0.0.1:7002", RpcFailureKind.Refused, "no quorum: replica 2 reaches 1 of 3 replicas.");

        var error = history.Exhausted(Tried);

        Assert.IsNotType<SynodUnreachableException>(error);
        Assert.True(error.OutcomeUnknown);
        Assert.Equal("no quorum: replica 2 reaches 1 of 3 replicas.", error.LastServerMessage);
        Assert.Equal(
            "unavailable: tried 2 replicas in 2 attempts over 10.0 s; last answer from 127.0.0.1:7002: no quorum: replica 2 reaches 1 of 3 replicas."
            + " Outcome unknown: the write may still take effect.",
            error.Message);
    }

    [Fact]
    public void The_quoted_answer_names_the_replica_that_sent_it_not_the_last_one_tried()
    {
        var history = new AttemptHistory("get", isWrite: false);
        history.Record("127.0.0.1:7002", RpcFailureKind.Refused, "no leader");
        history.Record("127.0.0.1:7003", RpcFailureKind.ConnectFailed, "connection refused");

        var error = history.Exhausted(Tried);

        Assert.Contains("last answer from 127.0.0.1:7002: no leader.", error.Message, StringComparison.Ordinal);
        Assert.Equal("127.0.0.1:7003", error.LastEndpoint);
    }

    [Fact]
    public void A_write_whose_attempt_went_unanswered_has_an_unknown_outcome()
    {
        var history = new AttemptHistory("delete", isWrite: true);
        history.Record("127.0.0.1:7001", RpcFailureKind.Unanswered, "no answer within 2.0 s");

        var error = history.Exhausted(Tried);

        Assert.True(error.OutcomeUnknown);
        Assert.Contains("failed: no answer within 2.0 s.", error.Message, StringComparison.Ordinal);
        Assert.Contains("Outcome unknown", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refusal_that_says_the_attempt_was_not_proposed_adds_no_doubt_but_keeps_an_earlier_one()
    {
        var refused = new AttemptHistory("put", isWrite: true);
        refused.Record("127.0.0.1:7001", RpcFailureKind.Refused, "no leader; this attempt was not proposed", notProposed: true);
        Assert.False(refused.Exhausted(Tried).OutcomeUnknown);

        var earlier = new AttemptHistory("put", isWrite: true);
        earlier.Record("127.0.0.1:7001", RpcFailureKind.Unanswered, "no answer within 2.0 s.");
        earlier.Record("127.0.0.1:7002", RpcFailureKind.Refused, "no leader; this attempt was not proposed", notProposed: true);
        Assert.True(earlier.Exhausted(Tried).OutcomeUnknown);

        var overloaded = new AttemptHistory("put", isWrite: true);
        overloaded.Record("127.0.0.1:7001", RpcFailureKind.Refused, "too busy");
        Assert.True(overloaded.Exhausted(Tried).OutcomeUnknown);
    }

    [Fact]
    public void A_read_never_has_an_unknown_outcome()
    {
        var history = new AttemptHistory("get", isWrite: false);
        history.Record("127.0.0.1:7001", RpcFailureKind.Refused, "no leader");

        var error = history.Exhausted(Tried);

        Assert.False(error.OutcomeUnknown);
        Assert.DoesNotContain("write", error.Message, StringComparison.Ordinal);
    }
}
