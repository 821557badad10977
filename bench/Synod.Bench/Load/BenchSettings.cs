namespace Synod.Bench;

/// <summary>One benchmark run, as given on the command line; <see cref="Validate"/> names the first bad setting.</summary>
public sealed record BenchSettings
{
    public const int ClientsMax = 4096;
    public const int ConnsMax = 1024;
    public const long OpsMax = 1_000_000_000;
    public const int KeySpaceMax = 10_000_000;

    /// <summary>The smallest key that still holds a distinct number for every key of the largest key space.</summary>
    public const int KeyBytesMin = 8;

    /// <summary>etcd refuses requests over 1.5 MiB by default, so values stay below that whichever target runs.</summary>
    public const int ValueBytesMax = 1024 * 1024;

    public static readonly TimeSpan DurationMax = TimeSpan.FromHours(1);
    public static readonly TimeSpan WarmupMax = TimeSpan.FromMinutes(10);

    public BenchTargetKind Target { get; init; } = BenchTargetKind.Synod;

    public required IReadOnlyList<string> Endpoints { get; init; }

    /// <summary>TLS to the servers (--cacert, for Synod and etcd alike); null: plaintext.</summary>
    public Synod.Client.SynodClientTls? Tls { get; init; }

    /// <summary>Where <see cref="Endpoints"/> came from, for the header line.</summary>
    public string EndpointsSource { get; init; } = "--endpoints";

    public BenchMode Mode { get; init; } = BenchMode.Put;

    /// <summary>Requests in flight at once; each client issues its next request when the last one is answered.</summary>
    public int Clients { get; init; } = 16;

    /// <summary>Client instances (each with its own connections) that the clients are spread over.</summary>
    public int Conns { get; init; } = 1;

    /// <summary>Stop after this many measured operations ...</summary>
    public long Ops { get; init; } = 10_000_000;

    /// <summary>... or after this long, whichever comes first.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Load before the measurement starts, not counted; lets connections open and the JIT settle.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.Zero;

    public int KeyBytes { get; init; } = 16;

    public int ValueBytes { get; init; } = 256;

    /// <summary>Distinct keys; operations pick one at random. Reads first fill every key once.</summary>
    public int KeySpace { get; init; } = 1000;

    /// <summary>In <see cref="BenchMode.Range"/>, how many keys each range read returns.</summary>
    public int RangeKeys { get; init; } = 100;

    /// <summary>In <see cref="BenchMode.Watch"/>, the writes per second under the watched prefix.</summary>
    public int WatchWriteRate { get; init; } = 1000;

    /// <summary>In <see cref="BenchMode.Lease"/>, the leases granted before the run and kept alive during it.</summary>
    public int Leases { get; init; } = 10_000;

    /// <summary>In <see cref="BenchMode.Lease"/>, their TTL in seconds.</summary>
    public long LeaseTtlSeconds { get; init; } = 30;

    /// <summary>In <see cref="BenchMode.Mixed"/>, the fraction of operations that are reads.</summary>
    public double ReadRatio { get; init; } = 0.9;

    /// <summary>The deadline of one operation, retries included.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public bool Json { get; init; }

    /// <exception cref="ArgumentException">A setting is out of range; the message names the flag and the range.</exception>
    public void Validate()
    {
        Check(Endpoints.Count > 0, "--endpoints is empty; give HOST:PORT,HOST:PORT,...");
        Check(Clients is >= 1 and <= ClientsMax, $"--clients {Clients}: use 1 to {ClientsMax}.");
        Check(Conns >= 1 && Conns <= ConnsMax && Conns <= Clients, $"--conns {Conns}: use 1 to {Math.Min(ConnsMax, Clients)} (at most --clients, {Clients}).");
        Check(Ops is >= 1 and <= OpsMax, $"--ops {Ops}: use 1 to {OpsMax}.");
        Check(Duration > TimeSpan.Zero && Duration <= DurationMax, $"--duration {Duration}: use more than 0 and at most {DurationMax}.");
        Check(Warmup >= TimeSpan.Zero && Warmup <= WarmupMax, $"--warmup {Warmup}: use 0 to {WarmupMax}.");
        Check(KeyBytes is >= KeyBytesMin and <= Kv.KvLimits.KeyBytesMax, $"--key-size {KeyBytes}: use {KeyBytesMin} to {Kv.KvLimits.KeyBytesMax} bytes.");
        Check(ValueBytes is >= 0 and <= ValueBytesMax, $"--value-size {ValueBytes}: use 0 to {ValueBytesMax} bytes.");
        Check(KeySpace is >= 1 and <= KeySpaceMax, $"--key-space {KeySpace}: use 1 to {KeySpaceMax} keys.");
        Check(WatchWriteRate is >= 1 and <= 1_000_000, $"--rate {WatchWriteRate}: use 1 to 1,000,000 writes per second.");
        Check(Leases is >= 1 and <= 1_000_000, $"--leases {Leases}: use 1 to 1,000,000.");
        Check(LeaseTtlSeconds is >= 1 and <= 3_600, $"--lease-ttl {LeaseTtlSeconds}: use 1 to 3,600 seconds.");
        Check(!(Fill && Filled), "--fill and --filled: give one (--fill puts every key; --filled says they are there already).");
        Check(ReadRatio is >= 0 and <= 1, $"--read-ratio {ReadRatio}: use a fraction from 0 to 1.");
        Check(OperationTimeout > TimeSpan.Zero && OperationTimeout <= DurationMax, $"--timeout {OperationTimeout}: use more than 0 and at most {DurationMax}.");
    }

    /// <summary>Put every key once before the run even where the mode does not read (--fill): puts then overwrite a store of --key-space keys.</summary>
    public bool Fill { get; init; }

    /// <summary>
    /// The store holds every key of --key-space already (an earlier run's --fill put them, --filled): reads skip their
    /// fill, which at a million keys takes minutes.
    /// </summary>
    public bool Filled { get; init; }

    /// <summary>Whether the keys must be put before the run: every mode that reads unless <see cref="Filled"/>, and any with <see cref="Fill"/>.</summary>
    public bool NeedsFill => Fill || (!Filled && Mode is not (BenchMode.Put or BenchMode.Watch or BenchMode.Lock or BenchMode.Lease));

    private static void Check(bool ok, string problem)
    {
        if (!ok)
        {
            throw new ArgumentException(problem);
        }
    }
}
