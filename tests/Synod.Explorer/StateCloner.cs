using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Explorer;

/// <summary>
/// A deep copy of an object graph, read and written through reflection because the core keeps its state in private
/// (often readonly) fields and has no copy of its own. It lets a search branch from a state instead of replaying the
/// schedule that reached it, which is what makes schedules of many coarse steps affordable.
/// Every instance field is copied. Dictionaries, sets, lists and queues are rebuilt, with the same comparer, from copies
/// of their items taken in the source's own enumeration order, so a copy enumerates as its source does. Arrays are
/// copied. Shared instead of copied: what never changes once made — primitives, strings, enums, delegates, messages and
/// persist records (immutable records), the replica options, and value types made only of those. Aliasing inside one
/// graph is kept (an object reached twice is copied once).
/// </summary>
internal static class StateCloner
{
    private const int DepthMax = 32;

    private static readonly Func<object, object> ShallowCopy = (Func<object, object>)Delegate.CreateDelegate(
        typeof(Func<object, object>), typeof(object).GetMethod("MemberwiseClone", BindingFlags.Instance | BindingFlags.NonPublic)!);

    private static readonly ConcurrentDictionary<Type, FieldInfo[]> Fields = new();
    private static readonly ConcurrentDictionary<Type, bool> SharedTypes = new();
    private static readonly ConcurrentDictionary<Type, MethodInfo> Adders = new();

    public static T Copy<T>(T value)
        where T : class =>
        (T)Copy(value, new Dictionary<object, object>(ReferenceEqualityComparer.Instance), 0)!;

    private static object? Copy(object? value, Dictionary<object, object> copies, int depth)
    {
        if (value is null || IsShared(value.GetType()))
        {
            return value;
        }

        if (copies.TryGetValue(value, out var done))
        {
            return done;
        }

        if (depth > DepthMax)
        {
            throw new InvalidOperationException($"The state graph is deeper than {DepthMax} levels; StateCloner expects trees of plain data.");
        }

        var type = value.GetType();
        return value switch
        {
            Array array => CopyArray(array, copies, depth),
            IDictionary dictionary => CopyDictionary(dictionary, type, copies, depth),
            IEnumerable items when IsCollection(type) => CopyCollection(items, type, copies, depth),
            _ => CopyFields(value, type, copies, depth),
        };
    }

    private static Array CopyArray(Array array, Dictionary<object, object> copies, int depth)
    {
        var copy = (Array)array.Clone();
        copies[array] = copy;
        if (!IsShared(array.GetType().GetElementType()!))
        {
            for (var i = 0; i < copy.Length; i++)
            {
                copy.SetValue(Copy(array.GetValue(i), copies, depth + 1), i);
            }
        }

        return copy;
    }

    private static object CopyDictionary(IDictionary dictionary, Type type, Dictionary<object, object> copies, int depth)
    {
        var copy = (IDictionary)Activator.CreateInstance(type, Comparer(dictionary, type))!;
        copies[dictionary] = copy;
        foreach (DictionaryEntry entry in dictionary)
        {
            copy.Add(Copy(entry.Key, copies, depth + 1)!, Copy(entry.Value, copies, depth + 1));
        }

        return copy;
    }

    private static object CopyCollection(IEnumerable items, Type type, Dictionary<object, object> copies, int depth)
    {
        var definition = type.GetGenericTypeDefinition();
        var copy = definition == typeof(HashSet<>) || definition == typeof(SortedSet<>)
            ? Activator.CreateInstance(type, Comparer(items, type))!
            : Activator.CreateInstance(type)!;
        copies[items] = copy;
        var add = Adders.GetOrAdd(type, t => t.GetMethod(t.GetGenericTypeDefinition() == typeof(Queue<>) ? "Enqueue" : "Add", [t.GetGenericArguments()[0]])!);
        var argument = new object?[1];
        foreach (var item in items)
        {
            argument[0] = Copy(item, copies, depth + 1);
            add.Invoke(copy, argument);
        }

        return copy;
    }

    private static object CopyFields(object value, Type type, Dictionary<object, object> copies, int depth)
    {
        var copy = ShallowCopy(value);
        copies[value] = copy;
        foreach (var field in Fields.GetOrAdd(type, FieldsOf))
        {
            if (!IsShared(field.FieldType))
            {
                field.SetValue(copy, Copy(field.GetValue(value), copies, depth + 1));
            }
        }

        return copy;
    }

    private static object? Comparer(object collection, Type type) => type.GetProperty("Comparer")!.GetValue(collection);

    private static bool IsCollection(Type type)
    {
        if (!type.IsGenericType)
        {
            return false;
        }

        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(List<>) || definition == typeof(Queue<>) || definition == typeof(HashSet<>) || definition == typeof(SortedSet<>);
    }

    private static bool IsShared(Type type) => SharedTypes.GetOrAdd(type, t =>
        t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) ||
        typeof(Delegate).IsAssignableFrom(t) || typeof(Message).IsAssignableFrom(t) || typeof(PersistOp).IsAssignableFrom(t) ||
        t == typeof(ReplicaOptions) ||
        (t.IsValueType && Array.TrueForAll(Fields.GetOrAdd(t, FieldsOf), f => f.FieldType != t && IsShared(f.FieldType))));

    private static FieldInfo[] FieldsOf(Type type)
    {
        var fields = new List<FieldInfo>();
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            fields.AddRange(t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly));
        }

        return [.. fields];
    }
}
