namespace Synod.Tests;

/// <summary>
/// The one way tests wait for things that happen on other threads or in other processes: poll a condition until it
/// holds, within a limit. The limit is only there so that a broken test fails instead of hanging; nothing is asserted
/// about how long it took. No test sleeps for a fixed time instead.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DefaultPoll = TimeSpan.FromMilliseconds(10);

    /// <summary>Fails the test if <paramref name="condition"/> does not hold within <see cref="Limit"/>.</summary>
    public static Task TrueAsync(Func<bool> condition, Func<string> failure) =>
        TrueAsync(() => Task.FromResult(condition()), Limit, failure);

    /// <summary>Fails the test if <paramref name="condition"/> does not hold within <paramref name="limit"/>.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan limit, Func<string> failure, TimeSpan? poll = null)
    {
        if (!await WithinAsync(condition, limit, poll))
        {
            Assert.Fail($"not within {limit.TotalSeconds} s: {failure()}");
        }
    }

    /// <summary>Whether <paramref name="condition"/> held within <paramref name="limit"/>, for callers that say themselves what failed.</summary>
    public static async Task<bool> WithinAsync(Func<Task<bool>> condition, TimeSpan limit, TimeSpan? poll = null)
    {
        using var expiry = new CancellationTokenSource(limit);
        while (!await condition())
        {
            if (expiry.IsCancellationRequested)
            {
                return false;
            }

            await Task.Delay(poll ?? DefaultPoll, CancellationToken.None);
        }

        return true;
    }
}
