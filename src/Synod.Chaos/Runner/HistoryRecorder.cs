using Synod.Checker;

namespace Synod.Chaos;

/// <summary>Every client operation of a run, in the order they completed; safe to add to from many clients at once.</summary>
internal sealed class HistoryRecorder
{
    private readonly List<Operation> _operations = [];
    private readonly List<string> _failures = [];
    private readonly Lock _gate = new();
    private int _ok;
    private int _failed;
    private int _unknown;

    public void Add(Operation operation)
    {
        lock (_gate)
        {
            _operations.Add(operation);
            switch (operation.Outcome)
            {
                case Outcome.Ok:
                    _ok++;
                    break;
                case Outcome.Fail:
                    _failed++;
                    break;
                default:
                    _unknown++;
                    break;
            }
        }
    }

    /// <summary>Records why an operation did not succeed, for failures.txt: the evidence when a classification is doubted.</summary>
    public void AddFailure(Operation operation, Exception failure)
    {
        var line = $"{operation.Invoke:0.000} c{operation.ClientId} {operation.Kind.ToString().ToLowerInvariant()} {operation.Key}" +
            $"{(operation.Value is null ? "" : "=" + operation.Value)} -> {operation.Outcome.ToString().ToLowerInvariant()}: " +
            $"{failure.GetType().Name}: {failure.Message.ReplaceLineEndings(" ")}";
        lock (_gate)
        {
            _failures.Add(line);
        }
    }

    public IReadOnlyList<string> Failures
    {
        get
        {
            lock (_gate)
            {
                return [.. _failures];
            }
        }
    }

    public IReadOnlyList<Operation> Operations
    {
        get
        {
            lock (_gate)
            {
                return [.. _operations];
            }
        }
    }

    public (int Ok, int Failed, int Unknown) Counts
    {
        get
        {
            lock (_gate)
            {
                return (_ok, _failed, _unknown);
            }
        }
    }
}
