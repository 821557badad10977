namespace Synod.Driver;

/// <summary>
/// Who waits for a client request's result: the server's pending gRPC call, or a simulated client. The driver calls
/// exactly one of <see cref="Complete"/> or <see cref="Fail"/>, from the owner's thread, or neither if the request
/// was abandoned or the replica stopped.
/// </summary>
public interface IAnswer<in T>
{
    /// <summary>The request gave up (its deadline passed); its waiter may be dropped and its write not proposed again.</summary>
    bool Abandoned { get; }

    void Complete(T result);

    void Fail(ReplicaFailure failure);
}
