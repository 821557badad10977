using Microsoft.Extensions.Logging;
using Synod.Server;

namespace Synod.Tests.Peers;

/// <summary>Refusals and malformed frames are logged at most once per kind per interval, with a count of the rest.</summary>
public sealed class RateLimitedLogTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_flood_of_one_kind_gives_one_line_per_interval_and_the_next_line_counts_the_ones_left_out()
    {
        var logger = new ListLogger();
        var time = new ManualTime();
        var log = new RateLimitedLog(logger, time, Interval);

        for (var i = 0; i < 1000; i++)
        {
            log.Write(LogLevel.Warning, PeerLogKind.HelloRefused, $"refused {i}");
            time.Advance(TimeSpan.FromMilliseconds(5));
        }

        // 1000 events over 5 s: the first is logged, 999 are counted.
        Assert.Equal(["refused 0"], logger.Lines);
        time.Advance(Interval);
        log.Write(LogLevel.Warning, PeerLogKind.HelloRefused, "refused again");
        Assert.Equal(2, logger.Lines.Count);
        Assert.Equal("refused again (999 more like it since the last such line were not logged)", logger.Lines[1]);
    }

    [Fact]
    public void Each_kind_has_its_own_limit()
    {
        var logger = new ListLogger();
        var log = new RateLimitedLog(logger, new ManualTime(), Interval);

        log.Write(LogLevel.Warning, PeerLogKind.HelloRefused, "refused");
        log.Write(LogLevel.Warning, PeerLogKind.HelloRefused, "refused");
        log.Write(LogLevel.Warning, PeerLogKind.MalformedMessage, "malformed");
        log.Write(LogLevel.Warning, PeerLogKind.TlsRefused, "tls");

        Assert.Equal(["refused", "malformed", "tls"], logger.Lines);
    }
}
