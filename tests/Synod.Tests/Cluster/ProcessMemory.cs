using System.Globalization;

namespace Synod.Tests.Cluster;

/// <summary>A replica process's memory as Linux reports it (/proc/PID/status), for tests that bound it.</summary>
internal static class ProcessMemory
{
    /// <summary>The resident set (VmRSS), in bytes.</summary>
    public static long ResidentBytes(int processId) => StatusBytes(processId, "VmRSS:");

    /// <summary>The peak resident set (VmHWM), in bytes.</summary>
    public static long PeakResidentBytes(int processId) => StatusBytes(processId, "VmHWM:");

    private static long StatusBytes(int processId, string field)
    {
        var line = File.ReadLines($"/proc/{processId}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
