namespace Synod.Checker;

/// <summary>
/// One client operation as observed from outside the store.
/// <see cref="Value"/> is what a put or a compare-and-swap writes (null for get and delete). <see cref="Result"/> is,
/// for a get with <see cref="Outcome.Ok"/>, the value read (null means absent), and null otherwise.
/// <see cref="Invoke"/> and <see cref="Complete"/> are read from one monotonic clock in any unit;
/// <see cref="Complete"/> is null exactly when the outcome is <see cref="Outcome.Unknown"/>.
/// </summary>
public sealed record Operation(
    int ClientId,
    OperationKind Kind,
    string Key,
    string? Value,
    string? Result,
    double Invoke,
    double? Complete,
    Outcome Outcome)
{
    /// <summary>For a compare-and-swap: the value the key must hold for the swap (null: the key must be absent).</summary>
    public string? Expect { get; init; }

    /// <summary>
    /// For a compare-and-swap with <see cref="Outcome.Ok"/>: true if it swapped, false if the compare failed (and so
    /// the key did not hold <see cref="Expect"/>); null otherwise.
    /// </summary>
    public bool? Swapped { get; init; }
}
