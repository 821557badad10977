using Synod.Driver;

namespace Synod.Server;

/// <summary>
/// A gRPC call waiting for the driver's answer. The answer is completed once the loop's pass is done (its records
/// durable, its messages sent); a call whose deadline passed has completed its task already and counts as abandoned.
/// </summary>
/// <param name="answered">Called on the owner loop when the answer is given (a write's commit timer), if any.</param>
internal sealed class TaskAnswer<T>(ReplicaHost host, TaskCompletionSource<T> completion, Action? answered = null) : IAnswer<T>
{
    public bool Abandoned => completion.Task.IsCompleted;

    public void Complete(T result)
    {
        answered?.Invoke();
        host.AnswerLater(() => completion.TrySetResult(result));
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
}
