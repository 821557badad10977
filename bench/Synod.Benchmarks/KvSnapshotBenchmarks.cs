using BenchmarkDotNet.Attributes;
using Synod.Kv;

namespace Synod.Benchmarks;

/// <summary>
/// <see cref="KvStateMachine.Snapshot"/> and <see cref="KvStateMachine.Restore"/> of a store of <see cref="KeyCount"/>
/// keys of 16 bytes with 256-byte values, every key written twice (so the history holds the default window of
/// previous values, as a store that has been serving does). A replica pays the first every few thousand slots and the
/// second at every restart and whenever it installs a snapshot from a peer; both grow with the state, and a restart
/// serves nothing until the restore is done. Divide by the snapshot's size (printed by the setup) for bytes per second.
/// </summary>
[MemoryDiagnoser]
public class KvSnapshotBenchmarks
{
    private const int ClientCount = 1_000;
    private const int FillSlotCommands = 128;

    private KvStateMachine _kv = null!;
    private byte[] _snapshot = [];

    [Params(100_000, 1_000_000)]
    public int KeyCount { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _kv = new KvStateMachine();
        var clients = PatchedPut.ClientIds(ClientCount);
        var sequences = new ulong[ClientCount];
        var value = SampleCommands.Value(seed: 31);
        var slot = 0L;
        for (var pass = 0; pass < 2; pass++)
        {
            SampleCommands.Fill(_kv, clients, sequences, KeyCount, value, FillSlotCommands, ref slot);
        }

        _snapshot = _kv.Snapshot();
        Console.WriteLine($"// {KeyCount} keys: snapshot of {_snapshot.Length} bytes");
    }

    [Benchmark]
    public int Snapshot() => _kv.Snapshot().Length;

    [Benchmark]
    public int Restore() => KvStateMachine.Restore(_snapshot).Count;
}
