using Synod.Client;

namespace Synod.Tests.Client;

public sealed class WriteSessionPoolTests
{
    [Fact]
    public void An_empty_pool_rents_nothing_so_the_client_registers_a_new_id()
    {
        Assert.Null(new WriteSessionPool().TryRent());
    }

    [Fact]
    public void A_returned_session_is_reused_with_its_next_sequence_and_rented_once()
    {
        var pool = new WriteSessionPool();

        pool.Return(WriteSession.Registered(5), WriteEnd.Acknowledged);

        Assert.Equal(new WriteSession(5, 2), pool.TryRent());
        Assert.Null(pool.TryRent());
    }

    [Fact]
    public void An_expired_session_is_not_returned()
    {
        var pool = new WriteSessionPool();

        pool.Return(WriteSession.Registered(5), WriteEnd.SessionExpired);

        Assert.Equal(0, pool.IdleCount);
    }

    [Fact]
    public void Idle_sessions_are_bounded()
    {
        var pool = new WriteSessionPool();

        for (var id = 1UL; id <= WriteSessionPool.IdleSessionsMax + 5; id++)
        {
            pool.Return(WriteSession.Registered(id), WriteEnd.Acknowledged);
        }

        Assert.Equal(WriteSessionPool.IdleSessionsMax, pool.IdleCount);
    }

    [Fact]
    public void Registration_nonces_are_never_zero()
    {
        Assert.All(Enumerable.Range(0, 100), _ => Assert.NotEqual(0UL, WriteSessionPool.RandomNonce()));
    }
}
