using System.Diagnostics;
using Synod.Server;

namespace Synod.Tests.Server;

/// <summary>
/// Clients' requests share one cancellation per <see cref="RequestDeadlines.BucketMs"/> of due time: never cancelled
/// before their wait has passed, and forgotten once fired.
/// </summary>
public sealed class RequestDeadlinesTests
{
    [Fact]
    public async Task Requests_due_together_share_one_cancellation_that_fires_after_their_wait_and_is_then_forgotten()
    {
        // One reading of the clock for the three, so that none falls in the next bucket by a tick between them.
        var clock = Environment.TickCount64;
        var deadlines = new RequestDeadlines(() => clock);
        var wait = TimeSpan.FromMilliseconds(300);
        var started = Stopwatch.StartNew();

        var first = deadlines.After(wait);
        var second = deadlines.After(wait);
        var later = deadlines.After(TimeSpan.FromSeconds(30));

        Assert.Equal(first, second);
        Assert.NotEqual(first, later);
        Assert.Equal(2, deadlines.Pending);
        Assert.False(first.IsCancellationRequested);

        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onFired = first.Register(() => fired.TrySetResult());
        await fired.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Never before the wait (the clock of the bucket rounds up); the later one still waits.
        Assert.True(started.Elapsed >= wait - TimeSpan.FromMilliseconds(20), $"cancelled after {started.Elapsed.TotalMilliseconds:F0} ms of a {wait.TotalMilliseconds:F0} ms wait");
        Assert.False(later.IsCancellationRequested);

        // Forgotten by the source's own callback, which may run a moment after this test's.
        var forgotten = Stopwatch.StartNew();
        while (deadlines.Pending != 1 && forgotten.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(10);
        }

        Assert.Equal(1, deadlines.Pending);
        Assert.NotEqual(first, deadlines.After(wait));
    }

    [Fact]
    public void A_wait_of_nothing_is_cancelled_within_a_bucket()
    {
        var deadlines = new RequestDeadlines();

        var due = deadlines.After(TimeSpan.Zero);

        Assert.True(due.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)));
    }
}
