using System.Runtime.InteropServices;

namespace Synod.Kv;

/// <summary>
/// The snapshot array a restore left its values in (<see cref="Restore(ReadOnlyMemory{byte}, bool, int, KvBugs, KvHistoryLimits?)"/>).
/// Each value overwritten after the restore lives elsewhere (in its command's array) while the snapshot's stays whole, so a workload
/// that overwrites most keys but not all would keep both for good: the snapshot's array and a copy of most of what it
/// holds. Once the commands applied since the restore reach half the restored keys, every applied slot moves up to
/// <see cref="RestoredValuesMovedPerCommand"/> restored values per command into arrays of their own, key by key in
/// the restore's order; at the end the state machine no longer holds the snapshot's array, and the collector frees it
/// once the history's older changes (its values too) are trimmed. Nothing a reader can see changes; no move happens
/// while a background snapshot is serialising the dictionary.
/// </summary>
public sealed partial class KvStateMachine
{
    /// <summary>Restored values moved into arrays of their own per command applied, once moving has begun.</summary>
    public const int RestoredValuesMovedPerCommand = 16;

    /// <summary>The array (or memory manager) restored values are slices of; null when none are (or the last has been moved).</summary>
    private object? _restoredArray;

    /// <summary>The keys restored, in order; the ones from <see cref="_restoredNext"/> on may still slice the array.</summary>
    private byte[][]? _restoredKeys;

    private int _restoredNext;

    /// <summary>Commands applied since the restore, of every kind (a revision would not move after a snapshot from before revisions).</summary>
    private long _commandsSinceRestore;

    /// <summary>Whether restored values may still slice the snapshot's array (for tests).</summary>
    public bool HoldsRestoredArray => _restoredArray is not null;

    private void KeepRestoredArray(object? array, byte[][] keys)
    {
        if (array is null)
        {
            return;
        }

        _restoredArray = array;
        _restoredKeys = keys;
        _restoredNext = 0;
        _commandsSinceRestore = 0;
    }

    /// <summary>After <paramref name="commands"/> commands were applied: moves restored values out, if it is time.</summary>
    private void MoveRestoredValues(int commands)
    {
        if (_restoredKeys is not { } keys)
        {
            return;
        }

        _commandsSinceRestore += commands;
        if (_overlay is not null || _commandsSinceRestore < keys.Length / 2)
        {
            return;
        }

        var budget = Math.Max(commands, 1) * RestoredValuesMovedPerCommand;
        for (; _restoredNext < keys.Length && budget > 0; _restoredNext++, budget--)
        {
            ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_entries, keys[_restoredNext]);
            if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref entry) && ReferenceEquals(BackingOf(entry.Value), _restoredArray))
            {
                entry = entry with { Value = (_bugs & KvBugs.RestoredValuesMovedWrong) != 0 && entry.Value.Length > 0 ? entry.Value[..^1].ToArray() : entry.Value.ToArray() };
            }
        }

        if (_restoredNext == keys.Length)
        {
            _restoredArray = null;
            _restoredKeys = null;
        }
    }
}
