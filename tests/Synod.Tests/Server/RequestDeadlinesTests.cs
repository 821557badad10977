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
        var deadlines = new RequestDeadlines();
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
