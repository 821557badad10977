using System.Globalization;

namespace Synod.Client;

/// <summary>Formatting shared by the client's messages, so every message writes durations and sentences alike.</summary>
internal static class ClientText
{
    /// <summary>"2.0 s": seconds with one decimal, invariant culture.</summary>
    public static string Seconds(TimeSpan duration) =>
        $"{duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s";

    /// <summary>The text as a sentence ending in a period, for quoting a server's message inside ours.</summary>
    public static string Sentence(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length == 0 || trimmed.EndsWith('.') ? trimmed : trimmed + ".";
    }
}
