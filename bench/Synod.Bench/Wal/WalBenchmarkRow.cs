namespace Synod.Bench;

/// <summary>One row of <see cref="WalBenchmark"/>: how many syncs, records and bytes in how long, and the sync latency.</summary>
public sealed record WalBenchmarkRow(string Name, int BatchRecords, long Syncs, long Records, long Bytes, double Seconds, double P50Microseconds, double P99Microseconds)
{
    public double SyncsPerSecond => Syncs / Seconds;

    public double RecordsPerSecond => Records / Seconds;

    public double MegabytesPerSecond => Bytes / Seconds / (1024 * 1024);
}
