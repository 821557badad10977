using BenchmarkDotNet.Attributes;
using Synod.Kv;

namespace Synod.Benchmarks;

/// <summary>
/// <see cref="KvStateMachine.ApplySlot"/> of a committed slot of puts: every replica's owner loop runs it for every
/// slot, after the WAL and before the client is answered. The store has been serving a while: 100 000 keys of
/// 16 bytes with 256-byte values, 1 000 clients with open sessions, and each put overwrites an existing key, from the
/// next client in turn at its next sequence, so every command goes the whole way (decode, validate, session rules,
/// dictionary write, session LRU update). Per command: divide by <see cref="PutCount"/>.
/// </summary>
[MemoryDiagnoser]
public class KvApplyBenchmarks
{
    private const int KeyCount = 100_000;
    private const int ClientCount = 1_000;

    /// <summary>Slots of the warm-up fill are as full as the core makes them (ReplicaOptions.BatchCommandsMax).</summary>
    private const int FillSlotCommands = 128;

    private KvStateMachine _kv = null!;
    private ulong[] _clients = [];
    private ulong[] _sequences = [];
    private byte[][] _slotCommands = [];
    private int _nextClient;
    private int _nextKey;
    private long _slot;

    [Params(1, 64, 256)]
    public int PutCount { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _kv = new KvStateMachine();
        _clients = PatchedPut.ClientIds(ClientCount);
        _sequences = new ulong[ClientCount];
        var value = SampleCommands.Value(seed: 31);
        SampleCommands.Fill(_kv, _clients, _sequences, KeyCount, value, FillSlotCommands, ref _slot);

        // From here on, sequences take the four varint bytes the patched commands have room for.
        for (var client = 0; client < ClientCount; client++)
        {
            _sequences[client] = PatchedPut.SequenceMin;
        }

        _slotCommands = [.. Enumerable.Range(0, PutCount).Select(_ => PatchedPut.Template(value))];
        var check = _kv.ApplySlot(++_slot, NextSlot());
        if (_kv.Count != KeyCount || check.Count != PutCount || check.Any(result => result.Status != KvStatus.Ok || result.Duplicate))
        {
            throw new InvalidOperationException("The benchmark's puts are not applied as fresh overwrites; it would measure the wrong path.");
        }
    }

    [Benchmark]
    public int ApplySlot() => _kv.ApplySlot(++_slot, NextSlot()).Count;

    /// <summary>
    /// The next slot's commands, rewritten in place (client id, sequence, key): a few dozen byte writes per command, and
    /// no allocation, where encoding fresh ones would charge the client's work to the state machine. The value bytes
    /// are never rewritten, so the values the state machine keeps as slices of these arrays
    /// (<see cref="KvCommand.DecodeSharingValue"/>) stay right; a replica's commands are fresh arrays, so this run keeps
    /// fewer of them alive than a replica would.
    /// </summary>
    private byte[][] NextSlot()
    {
        foreach (var command in _slotCommands)
        {
            var client = _nextClient;
            _nextClient = (_nextClient + 1) % ClientCount;
            PatchedPut.Rewrite(command, _clients[client], ++_sequences[client], _nextKey);
            _nextKey = (_nextKey + 1) % KeyCount;
        }

        return _slotCommands;
    }
}
