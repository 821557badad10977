using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

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

    /// <summary>
    /// As <see cref="Check(bool, string, string)"/>, with the detail written only when the check fails: these checks
    /// run for every accepted and applied slot, and a detail formatted every time cost a string each.
    /// </summary>
    public static void Check(
        [DoesNotReturnIf(false)] bool condition, string rule, [InterpolatedStringHandlerArgument(nameof(condition))] ref DetailHandler detail)
    {
        if (!condition)
        {
            throw new InvariantViolationException(rule, detail.ToStringAndClear());
        }
    }

    /// <summary>An invariant's detail, formatted only when the condition beside it is false.</summary>
    [InterpolatedStringHandler]
    public ref struct DetailHandler
    {
        private DefaultInterpolatedStringHandler _inner;

        public DetailHandler(int literalLength, int formattedCount, bool condition, out bool shouldAppend)
        {
            shouldAppend = !condition;
            _inner = condition ? default : new DefaultInterpolatedStringHandler(literalLength, formattedCount);
        }

        public void AppendLiteral(string value) => _inner.AppendLiteral(value);

        public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);

        public void AppendFormatted<T>(T value, string? format) => _inner.AppendFormatted(value, format);

        public string ToStringAndClear() => _inner.ToStringAndClear();
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
