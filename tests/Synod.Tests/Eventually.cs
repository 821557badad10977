namespace Synod.Tests.Chaos;

/// <summary>
/// Bounded waits for things that happen on other threads or in other processes. The limit is only there so that a
/// broken test fails instead of hanging; nothing is asserted about how long it took.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private const int PollMs = 10;

    public static async Task TrueAsync(Func<bool> condition, Func<string> failure)
    {
        using var limit = new CancellationTokenSource(Limit);
        while (!condition())
        {
            if (limit.IsCancellationRequested)
            {
                Assert.Fail($"not within {Limit.TotalSeconds} s: {failure()}");
            }

            await Task.Delay(PollMs, CancellationToken.None);
        }
    }
}
