using System.Text;
using Synod.Kv;

namespace Synod.Simulation;

/// <summary>
/// Checks while the run goes on, across all replicas: a slot, once applied anywhere, is applied with the same
/// value everywhere (a chosen value never changes; applied prefixes agree), and a replica applies slots in order
/// with no gap (its commit point never goes back within one life).
/// </summary>
public sealed class SafetyOracle
{
    private readonly Dictionary<long, (int Replica, byte[][] Commands)> _applied = [];
    private readonly Dictionary<int, long> _lastApplied = [];

    /// <summary>Violations kept in full; later ones are only counted, since one broken slot usually breaks many.</summary>
    private const int ViolationsKeptMax = 5;

    public List<string> Violations { get; } = [];

    public int ViolationCount { get; private set; }

    public long MaxAppliedSlot { get; private set; }

    public void OnRestart(int replica) => _lastApplied.Remove(replica);

    public void OnSnapshotInstalled(int replica, long slot) => _lastApplied[replica] = slot;

    public void OnApplied(int replica, long slot, byte[][] commands)
    {
        if (_lastApplied.TryGetValue(replica, out var last) && slot != last + 1)
        {
            Report($"replica {replica} applied slot {slot} right after slot {last} (applied slots must be consecutive).");
        }

        _lastApplied[replica] = slot;
        MaxAppliedSlot = Math.Max(MaxAppliedSlot, slot);
        if (!_applied.TryGetValue(slot, out var first))
        {
            _applied[slot] = (replica, commands);
            return;
        }

        if (!SameBatch(first.Commands, commands))
        {
            Report($"slot {slot} was applied with different values: {Describe(first.Commands)} on replica {first.Replica}, " +
                $"{Describe(commands)} on replica {replica} (a chosen value must never change).");
        }
    }

    public void Report(string violation)
    {
        ViolationCount++;
        if (Violations.Count < ViolationsKeptMax)
        {
            Violations.Add(violation);
        }
    }

    private static string Describe(byte[][] batch)
    {
        if (batch.Length == 0)
        {
            return "[no-op]";
        }

        return "[" + string.Join(", ", batch.Select(bytes =>
        {
            try
            {
                var command = KvCommand.Decode(bytes);
                var value = command.Operation == KvOperation.Put ? "=" + Encoding.UTF8.GetString(command.Value) : "";
                return $"client {command.ClientId} seq {command.Sequence} {command.Operation.ToString().ToLowerInvariant()} {Encoding.UTF8.GetString(command.Key)}{value}";
            }
            catch (KvFormatException)
            {
                return $"{bytes.Length} undecodable bytes";
            }
        })) + "]";
    }

    private static bool SameBatch(byte[][] left, byte[][] right)
    {
        if (left.Length != right.Length)
        {
            return false;
        }

        for (var i = 0; i < left.Length; i++)
        {
            if (!left[i].AsSpan().SequenceEqual(right[i]))
            {
                return false;
            }
        }

        return true;
    }
}
