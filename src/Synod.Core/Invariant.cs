using System.Diagnostics.CodeAnalysis;

namespace Synod.Core;

/// <summary>
/// Checks at run time of the rules the simulator's oracle checks across replicas, as far as one replica can see them
/// (docs/protocol.md, "Runtime invariants"). A broken one throws <see cref="InvariantViolationException"/>: the
/// server stops the process with one log line rather than serve from a state it cannot trust, and the simulator
/// reports it as a violation of the seed.
/// </summary>
public static class Invariant
{
    public static void Check([DoesNotReturnIf(false)] bool condition, string rule, string detail)
    {
        if (!condition)
        {
            throw new InvariantViolationException(rule, detail);
        }
    }

    /// <summary>Whether two slot values are the same batch of commands, byte for byte.</summary>
    public static bool SameCommands(byte[][] first, byte[][] second)
    {
        if (ReferenceEquals(first, second))
        {
            return true;
        }

        if (first.Length != second.Length)
        {
            return false;
        }

        for (var i = 0; i < first.Length; i++)
        {
            if (!first[i].AsSpan().SequenceEqual(second[i]))
            {
                return false;
            }
        }

        return true;
    }
}
