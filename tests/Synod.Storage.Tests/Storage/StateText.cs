using Synod.Core.Persistence;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>A DurableState as text, field by field and byte by byte, so that two states compare with a readable diff.</summary>
internal static class StateText
{
    public static string Describe(DurableState state)
    {
        var lines = new List<string>
        {
            $"promised {state.Promised}",
            $"commit {state.CommitIndex}",
            $"snapshot {state.SnapshotSlot} {Hex(state.SnapshotData?.ToArray() ?? [])}",
            $"rebuilding {state.Rebuilding}",
            $"incarnations {string.Join(",", state.Incarnations.Select(pair => $"{pair.Key}:{pair.Value}"))}",
        };
        foreach (var (slot, entry) in state.Entries)
        {
            lines.Add($"slot {slot} {(entry.Chosen ? "chosen" : "accepted")} {entry.Ballot} [{string.Join(",", entry.Commands.Select(Hex))}]");
        }

        return string.Join("\n", lines);
    }

    public static DurableState Fold(IEnumerable<PersistOp> ops)
    {
        var state = new DurableState();
        foreach (var op in ops)
        {
            if (op is not (CheckpointMarkerOp or CheckpointEndOp))
            {
                state.Apply(op);
            }
        }

        return state;
    }

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes);
}
