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

    /// <summary>
    /// I21: every replica agrees on the configuration of every slot: a configuration revision, wherever it is known, was
    /// chosen in the same slot, takes effect at the same slot and has the same members.
    /// </summary>
    public void OnConfigurations(int replica, IReadOnlyList<Synod.Core.Replica.ConfigurationEpoch> epochs)
    {
        foreach (var epoch in epochs)
        {
            var revision = epoch.Configuration.Revision;
            if (!_configurations.TryGetValue(revision, out var known))
            {
                _configurations[revision] = (replica, epoch);
                continue;
            }

            if (known.Epoch.ChosenAt != epoch.ChosenAt || known.Epoch.EffectiveFrom != epoch.EffectiveFrom || !known.Epoch.Configuration.SameMembers(epoch.Configuration))
            {
                Report($"replicas disagree on configuration revision {revision}: replica {known.Replica} has {known.Epoch.Configuration} chosen at slot " +
                    $"{known.Epoch.ChosenAt} from slot {known.Epoch.EffectiveFrom}, replica {replica} has {epoch.Configuration} chosen at slot {epoch.ChosenAt} " +
                    $"from slot {epoch.EffectiveFrom} (every replica must use the same configuration for every slot).");
                _configurations[revision] = (replica, epoch);
            }
        }
    }

    private readonly Dictionary<long, (int Replica, Synod.Core.Replica.ConfigurationEpoch Epoch)> _configurations = [];

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
            if (Synod.Core.ConfigurationCommand.IsConfiguration(bytes))
            {
                return Synod.Core.ConfigurationCommand.Decode(bytes, out _) is { } change
                    ? $"configuration at revision {change.ExpectedRevision} -> [{string.Join(",", change.Members.Select(m => m.Voter ? $"{m.Id}" : $"{m.Id}(learner)"))}]"
                    : "a malformed configuration command";
            }

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
