using Synod.Client;

namespace Synod.Tests.Client;

public sealed class RetryBackoffTests
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(1);

    [Theory]
    [InlineData(0, 50)]
    [InlineData(1, 100)]
    [InlineData(2, 200)]
    [InlineData(4, 800)]
    [InlineData(5, 1000)]
    [InlineData(60, 1000)]
    public void The_pause_doubles_up_to_the_cap(int retry, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RetryBackoff.Delay(retry, First, Max, jitter: 1));
    }

    [Fact]
    public void Jitter_keeps_at_least_half_of_the_pause()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(25), RetryBackoff.Delay(0, First, Max, jitter: 0));
        Assert.Equal(TimeSpan.FromMilliseconds(500), RetryBackoff.Delay(10, First, Max, jitter: 0));
    }
}
