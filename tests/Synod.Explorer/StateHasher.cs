using System.Collections;
using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Reflection;

namespace Synod.Explorer;

/// <summary>
/// A 64-bit hash of an object graph by its contents, read through reflection because the core keeps its state in
/// private fields and has no canonical serialization. Every instance field counts, public or not, except the few in
/// <see cref="IgnoredFields"/>; dictionaries and sets hash as unordered collections (insertion order never matters to
/// the core's behaviour), lists, queues and arrays in order. Delegates count as nothing.
/// Time is hashed relative to the owner's clock: inside an object with a <c>_tick</c> field, every long under a field
/// whose name holds "Tick" counts as its age (clock minus value) capped at a horizon, and the clock itself not at all.
/// The core only ever compares such ages with its timeouts, so two states whose ages agree up to a horizon above every
/// timeout behave alike forever; without this, every tick would make a new state.
/// </summary>
public static class StateHasher
{
    private const int DepthMax = 32;
    private const ulong NullHash = 0x6A09E667F3BCC909UL;
    private const string ClockField = "_tick";

    /// <summary>
    /// Fields that never change what a core does next: diagnostics counters, the configuration (the same in every state),
    /// the random source (the explorer's cores draw from range 1 only, so every draw is 0), and the running number of
    /// Ready objects (only its difference to numbers held in the self inbox matters, and that inbox is empty between steps).
    /// </summary>
    private static readonly HashSet<string> IgnoredFields =
    [
        "Replica._options",
        "Replica._random",
        "Replica.<RefusedMessages>k__BackingField",
        "Replica.<LastRefusal>k__BackingField",
        "Replica.<ExpiredProposals>k__BackingField",
        "Ready.<Number>k__BackingField",
    ];

    private static readonly ConcurrentDictionary<Type, FieldInfo[]> Fields = new();

    /// <summary>The hash of <paramref name="value"/>'s contents, ages of ticks capped at <paramref name="tickHorizonTicks"/>.</summary>
    public static ulong Of(object? value, long tickHorizonTicks) => Of(value, 0, new HashClock(tickHorizonTicks, null, false));

    public static ulong Combine(ulong left, ulong right)
    {
        var z = left ^ (right + 0x9E3779B97F4A7C15UL + (left << 6) + (left >> 2));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong Of(object? value, int depth, HashClock clock)
    {
        if (depth > DepthMax)
        {
            throw new InvalidOperationException($"The state graph is deeper than {DepthMax} levels; StateHasher expects trees of plain data.");
        }

        return value switch
        {
            null => NullHash,
            string text => XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(text)),
            byte[] bytes => Combine(0xB7E151628AED2A6BUL, XxHash64.HashToUInt64(bytes)),
            Enum e => Combine(0x243F6A8885A308D3UL, (ulong)Convert.ToInt64(e, System.Globalization.CultureInfo.InvariantCulture)),
            bool b => b ? 0x13198A2E03707344UL : 0xA4093822299F31D0UL,
            long age when clock is { IsAge: true, Now: long now } => Combine(0x5A827999UL, (ulong)Math.Clamp(now - age, 0, clock.HorizonTicks)),
            int or long or short or sbyte => Combine(0x082EFA98EC4E6C89UL, (ulong)Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
            uint or ulong or ushort or byte => Combine(0x082EFA98EC4E6C89UL, Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
            Delegate => 0,
            IDictionary dictionary => Unordered(dictionary, depth, clock),
            IEnumerable items when IsSet(value.GetType()) => UnorderedItems(items, depth, clock),
            IEnumerable items => Ordered(items, depth, clock),
            _ => ByFields(value, depth, clock),
        };
    }

    private static ulong Unordered(IDictionary dictionary, int depth, HashClock clock)
    {
        var sum = 0x452821E638D01377UL;
        foreach (DictionaryEntry entry in dictionary)
        {
            sum += Combine(Of(entry.Key, depth + 1, clock with { IsAge = false }), Of(entry.Value, depth + 1, clock));
        }

        return Combine(sum, (ulong)dictionary.Count);
    }

    private static ulong UnorderedItems(IEnumerable items, int depth, HashClock clock)
    {
        var sum = 0xBE5466CF34E90C6CUL;
        var count = 0UL;
        foreach (var item in items)
        {
            sum += Combine(Of(item, depth + 1, clock), 1);
            count++;
        }

        return Combine(sum, count);
    }

    private static ulong Ordered(IEnumerable items, int depth, HashClock clock)
    {
        var hash = 0xC0AC29B7C97C50DDUL;
        foreach (var item in items)
        {
            hash = Combine(hash, Of(item, depth + 1, clock));
        }

        return hash;
    }

    private static ulong ByFields(object value, int depth, HashClock clock)
    {
        var type = value.GetType();
        var hash = Combine(0x3F84D5B5B5470917UL, XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(type.FullName ?? type.Name)));
        var fields = Fields.GetOrAdd(type, FieldsOf);
        if (Array.Find(fields, f => f.Name == ClockField && f.FieldType == typeof(long)) is { } clockField)
        {
            clock = clock with { Now = (long)clockField.GetValue(value)! };
        }

        foreach (var field in fields)
        {
            if (field.Name == ClockField)
            {
                continue;
            }

            var inner = clock with { IsAge = clock.IsAge || (clock.Now is not null && field.Name.Contains("Tick", StringComparison.Ordinal)) };
            hash = Combine(hash, Of(field.GetValue(value), depth + 1, inner));
        }

        return hash;
    }

    private static FieldInfo[] FieldsOf(Type type)
    {
        var fields = new List<FieldInfo>();
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            fields.AddRange(t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(f => !IgnoredFields.Contains($"{t.Name}.{f.Name}")));
        }

        return [.. fields.OrderBy(f => f.DeclaringType!.Name, StringComparer.Ordinal).ThenBy(f => f.Name, StringComparer.Ordinal)];
    }

    private static bool IsSet(Type type) =>
        type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ISet<>));
}
