using System.Globalization;

namespace Synod.Tests.Cluster;

/// <summary>Reads figures out of a /metrics scrape (the Prometheus text format).</summary>
internal static class PrometheusText
{
    /// <summary>The sum of every sample of metric <paramref name="name"/> (all label sets); 0 if there is none.</summary>
    public static double Sum(string scrape, string name)
    {
        var total = 0.0;
        foreach (var line in scrape.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is '{' or ' ')
            {
                total += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return total;
    }
}
