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
/// </summary>
public static class StateHasher
{
    private const int DepthMax = 32;
    private const ulong NullHash = 0x6A09E667F3BCC909UL;

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

    public static ulong Of(object? value) => Of(value, 0);

    public static ulong Combine(ulong left, ulong right)
    {
        var z = left ^ (right + 0x9E3779B97F4A7C15UL + (left << 6) + (left >> 2));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong Of(object? value, int depth)
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
            int or long or short or sbyte => Combine(0x082EFA98EC4E6C89UL, (ulong)Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
            uint or ulong or ushort or byte => Combine(0x082EFA98EC4E6C89UL, Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
            Delegate => 0,
            IDictionary dictionary => Unordered(dictionary, depth),
            IEnumerable items when IsSet(value.GetType()) => UnorderedItems(items, depth),
            IEnumerable items => Ordered(items, depth),
            _ => ByFields(value, depth),
        };
    }

    private static ulong Unordered(IDictionary dictionary, int depth)
    {
        var sum = 0x452821E638D01377UL;
        foreach (DictionaryEntry entry in dictionary)
        {
            sum += Combine(Of(entry.Key, depth + 1), Of(entry.Value, depth + 1));
        }

        return Combine(sum, (ulong)dictionary.Count);
    }

    private static ulong UnorderedItems(IEnumerable items, int depth)
    {
        var sum = 0xBE5466CF34E90C6CUL;
        var count = 0UL;
        foreach (var item in items)
        {
            sum += Combine(Of(item, depth + 1), 1);
            count++;
        }

        return Combine(sum, count);
    }

    private static ulong Ordered(IEnumerable items, int depth)
    {
        var hash = 0xC0AC29B7C97C50DDUL;
        foreach (var item in items)
        {
            hash = Combine(hash, Of(item, depth + 1));
        }

        return hash;
    }

    private static ulong ByFields(object value, int depth)
    {
        var type = value.GetType();
        var hash = Combine(0x3F84D5B5B5470917UL, XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(type.FullName ?? type.Name)));
        foreach (var field in Fields.GetOrAdd(type, FieldsOf))
        {
            hash = Combine(hash, Of(field.GetValue(value), depth + 1));
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
