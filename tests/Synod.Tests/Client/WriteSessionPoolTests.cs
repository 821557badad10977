using Synod.Client;

namespace Synod.Tests.Client;

public sealed class WriteSessionPoolTests
{
    private ulong _lastId;

    private WriteSessionPool NewPool() => new(() => ++_lastId);

    [Fact]
    public void Concurrent_writes_never_share_a_client_id()
    {
        var pool = NewPool();

        var first = pool.Rent();
        var second = pool.Rent();

        Assert.NotEqual(first.ClientId, second.ClientId);
    }

    [Fact]
    public void A_returned_session_is_reused_with_its_next_sequence()
    {
        var pool = NewPool();
        var session = pool.Rent();

        pool.Return(session, WriteEnd.Acknowledged);

        Assert.Equal(new WriteSession(session.ClientId, 2, Established: true), pool.Rent());
    }

    [Fact]
    public void An_abandoned_session_is_not_returned_and_the_next_write_gets_a_fresh_id()
    {
        var pool = NewPool();
        var session = pool.Rent();

        pool.Return(session, WriteEnd.NotAcknowledged);
        var next = pool.Rent();

        Assert.Equal(0, pool.IdleCount);
        Assert.NotEqual(session.ClientId, next.ClientId);
        Assert.Equal(1UL, next.NextSequence);
    }

    [Fact]
    public void Idle_sessions_are_bounded()
    {
        var pool = NewPool();
        var sessions = Enumerable.Range(0, WriteSessionPool.IdleSessionsMax + 5).Select(_ => pool.Rent()).ToList();

        foreach (var session in sessions)
        {
            pool.Return(session, WriteEnd.Acknowledged);
        }

        Assert.Equal(WriteSessionPool.IdleSessionsMax, pool.IdleCount);
    }

    [Fact]
    public void Random_client_ids_are_never_zero()
    {
        Assert.All(Enumerable.Range(0, 100), _ => Assert.NotEqual(0UL, WriteSessionPool.RandomClientId()));
    }
}
