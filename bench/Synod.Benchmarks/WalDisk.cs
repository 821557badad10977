namespace Synod.Benchmarks;

/// <summary>Which disk stands behind the WAL in <see cref="WalAppendBenchmarks"/>.</summary>
public enum WalDisk
{
    /// <summary>The in-memory twin: no system calls, so what remains is the WAL's own CPU work.</summary>
    Simulated,

    /// <summary>The file system, with fdatasync on every Sync: what a client's write waits for.</summary>
    Real,
}
