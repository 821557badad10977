namespace Synod.Checker;

/// <summary>
/// The verdict on a history. When <see cref="TimedOut"/> is true the budget ran out before an answer:
/// <see cref="Linearizable"/> is then false but the caller must report the verdict as unknown.
/// </summary>
/// <param name="Linearizable">True when every key's sub-history is linearizable.</param>
/// <param name="OperationsChecked">Operations that took part, after dropping failed operations and unknown gets.</param>
/// <param name="FailingKey">The key whose sub-history is not linearizable, or null.</param>
/// <param name="Counterexample">A short sub-history of <see cref="FailingKey"/> that is itself not linearizable, or empty.</param>
/// <param name="TimedOut">True when the time budget (or a key search's memory cap) ran out before an answer.</param>
public sealed record CheckResult(
    bool Linearizable,
    int OperationsChecked,
    string? FailingKey,
    IReadOnlyList<Operation> Counterexample,
    bool TimedOut);
