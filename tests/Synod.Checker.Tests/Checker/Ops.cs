using Synod.Checker;

namespace Synod.Tests.Checker;

/// <summary>Short constructors for hand-built histories.</summary>
internal static class Ops
{
    public static Operation Put(int client, string key, string value, double invoke, double complete) =>
        new(client, OperationKind.Put, key, value, null, invoke, complete, Outcome.Ok);

    public static Operation UnknownPut(int client, string key, string value, double invoke) =>
        new(client, OperationKind.Put, key, value, null, invoke, null, Outcome.Unknown);

    public static Operation FailedPut(int client, string key, string value, double invoke, double complete) =>
        new(client, OperationKind.Put, key, value, null, invoke, complete, Outcome.Fail);

    public static Operation Delete(int client, string key, double invoke, double complete) =>
        new(client, OperationKind.Delete, key, null, null, invoke, complete, Outcome.Ok);

    public static Operation UnknownDelete(int client, string key, double invoke) =>
        new(client, OperationKind.Delete, key, null, null, invoke, null, Outcome.Unknown);

    /// <summary>A completed get; a null result means the key was absent.</summary>
    public static Operation Get(int client, string key, string? result, double invoke, double complete) =>
        new(client, OperationKind.Get, key, null, result, invoke, complete, Outcome.Ok);

    /// <summary>A completed compare-and-swap: <paramref name="expect"/> null means "only if absent".</summary>
    public static Operation Cas(int client, string key, string? expect, string value, bool swapped, double invoke, double complete) =>
        new(client, OperationKind.Cas, key, value, null, invoke, complete, Outcome.Ok) { Expect = expect, Swapped = swapped };

    public static Operation UnknownCas(int client, string key, string? expect, string value, double invoke) =>
        new(client, OperationKind.Cas, key, value, null, invoke, null, Outcome.Unknown) { Expect = expect };

    public static Operation UnknownGet(int client, string key, double invoke) =>
        new(client, OperationKind.Get, key, null, null, invoke, null, Outcome.Unknown);
}
