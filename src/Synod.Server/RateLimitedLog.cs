using Microsoft.Extensions.Logging;

namespace Synod.Server;

/// <summary>
/// At most one log line per kind of event per interval, with the count of the lines left out since the last one. What
/// strangers send to the listen port decides how often these events happen, so without a limit they could fill the
/// disk with log lines, or hide the one line that matters among them.
/// </summary>
internal sealed class RateLimitedLog(ILogger logger, TimeProvider time, TimeSpan interval)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<PeerLogKind, (long LoggedAt, int Suppressed)> _kinds = [];

    public void Write(LogLevel level, PeerLogKind kind, string message)
    {
        int suppressed;
        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (_kinds.TryGetValue(kind, out var last) && time.GetElapsedTime(last.LoggedAt, now) < interval)
            {
                _kinds[kind] = (last.LoggedAt, last.Suppressed + 1);
                return;
            }

            suppressed = last.Suppressed;
            _kinds[kind] = (now, 0);
        }

        if (suppressed == 0)
        {
            logger.Log(level, "{Message}", message);
        }
        else
        {
            logger.Log(level, "{Message} ({Suppressed} more like it since the last such line were not logged)", message, suppressed);
        }
    }
}
