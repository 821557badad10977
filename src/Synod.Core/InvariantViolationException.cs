namespace Synod.Core;

/// <summary>A rule that must always hold was found broken at run time (<see cref="Invariant"/>).</summary>
public sealed class InvariantViolationException(string rule, string detail)
    : InvalidOperationException($"invariant broken: {rule}: {detail}")
{
    /// <summary>The rule, in a few words ("a chosen slot never changes").</summary>
    public string Rule { get; } = rule;
}
