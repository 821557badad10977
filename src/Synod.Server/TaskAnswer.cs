using Synod.Driver;

namespace Synod.Server;

/// <summary>
/// A gRPC call waiting for the driver's answer. The answer is completed once the loop's pass is done (its records
/// durable, its messages sent); a call whose deadline passed has completed its task already and counts as abandoned.
/// A result is handed to the thread pool as this object itself (no closure, no work item of the pool's own): a busy
/// leader answers tens of thousands of writes a second this way.
/// </summary>
/// <param name="commitTimed">The metrics that time a write from here to its answer (<see cref="ReplicaMetrics.RecordCommit"/>), if any.</param>
internal sealed class TaskAnswer<T>(ReplicaHost host, TaskCompletionSource<T> completion, ReplicaMetrics? commitTimed = null) : IAnswer<T>, IThreadPoolWorkItem
{
    private readonly long _started = commitTimed is null ? 0 : TimeProvider.System.GetTimestamp();
    private T? _result;
    private bool _completed;

    public bool Abandoned => completion.Task.IsCompleted;

    public void Complete(T result)
    {
        if (_completed)
        {
            // The first answer stands, as a completion's first result does.
            return;
        }

        _completed = true;
        commitTimed?.RecordCommit(_started);
        _result = result;
        host.AnswerLater(this);
    }

    public void Fail(ReplicaFailure failure) => host.AnswerLater(() => completion.TrySetException(failure switch
    {
        ReplicaFailure.NoLeader => new NoLeaderException(),
        ReplicaFailure.WriteOutcomeUnknown => new WriteOutcomeUnknownException(),
        ReplicaFailure.SequenceInUse => new SequenceInUseException(),
        ReplicaFailure.NoSpace => new NoSpaceException(),
        ReplicaFailure.CatchingUp => new CatchingUpException(),
        _ => new InvalidOperationException($"The replica failed the request: {failure}."),
    }));

    /// <summary>Delivers the result (on the owner loop, or on a pool thread): the waiting call goes on from here.</summary>
    public void Execute() => completion.TrySetResult(_result!);
}
