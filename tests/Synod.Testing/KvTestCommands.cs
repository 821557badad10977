using System.Text;
using Synod.Kv;

namespace Synod.Tests.Kv;

/// <summary>Builds encoded commands for tests, with string keys and values for readability.</summary>
public static class KvTestCommands
{
    public static byte[] Put(ulong clientId, ulong sequence, string key, string value) =>
        new KvCommand(clientId, sequence, KvOperation.Put, Bytes(key), Bytes(value)).Encode();

    public static byte[] Delete(ulong clientId, ulong sequence, string key) =>
        new KvCommand(clientId, sequence, KvOperation.Delete, Bytes(key), []).Encode();

    /// <summary>A put that takes effect only if <paramref name="condition"/> holds when applied.</summary>
    public static byte[] PutIf(ulong clientId, ulong sequence, string key, string value, KvCondition condition) =>
        new KvCommand(clientId, sequence, KvOperation.Put, Bytes(key), Bytes(value)) { Condition = condition }.Encode();

    /// <summary>A delete that takes effect only if <paramref name="condition"/> holds when applied.</summary>
    public static byte[] DeleteIf(ulong clientId, ulong sequence, string key, KvCondition condition) =>
        new KvCommand(clientId, sequence, KvOperation.Delete, Bytes(key), []) { Condition = condition }.Encode();

    /// <summary>A put as the builds before revisions encoded it (version 1: no condition flag), as old logs hold it.</summary>
    public static byte[] PutBeforeRevisions(ulong clientId, ulong sequence, string key, string value)
    {
        var current = Put(clientId, sequence, key, value);
        current[0] = KvCommand.FormatVersionBeforeRevisions;
        return current[..^1];
    }

    /// <summary>A registration as the builds before revisions encoded it.</summary>
    public static byte[] RegisterBeforeRevisions(ulong nonce)
    {
        var current = Register(nonce);
        current[0] = KvCommand.FormatVersionBeforeRevisions;
        return current[..^1];
    }

    /// <summary>A transaction command.</summary>
    public static byte[] Txn(ulong clientId, ulong sequence, KvTxn txn) =>
        new KvCommand(clientId, sequence, KvOperation.Txn, [], []) { Txn = txn }.Encode();

    /// <summary>A compact command up to <paramref name="revision"/>.</summary>
    public static byte[] Compact(ulong clientId, ulong sequence, long revision) => KvCommand.CompactTo(clientId, sequence, revision).Encode();

    public static byte[] Register(ulong nonce) => new KvCommand(0, nonce, KvOperation.Register, [], []).Encode();

    /// <summary>
    /// A state machine whose slot 1 registered <paramref name="clients"/> clients, so client ids 1 to that number have
    /// sessions (I11: a write never opens one). Tests go on at slot 2.
    /// </summary>
    public static KvStateMachine WithClients(
        int clients, int sessionsMax = KvLimits.SessionsMaxDefault, KvBugs bugs = KvBugs.None, KvHistoryLimits? history = null)
    {
        var machine = new KvStateMachine(sessionsMax, bugs, history);
        machine.ApplySlot(1, [.. Enumerable.Range(1, clients).Select(i => Register((ulong)i))]);
        return machine;
    }

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string? Get(KvStateMachine machine, string key) =>
        machine.TryGet(Bytes(key), out var value) ? Encoding.UTF8.GetString(value.Span) : null;

    /// <summary>Applies one slot holding the given commands at the next slot number.</summary>
    public static IReadOnlyList<AppliedCommand> Apply(KvStateMachine machine, params byte[][] commands) =>
        machine.ApplySlot(machine.AppliedSlot + 1, commands);
}
