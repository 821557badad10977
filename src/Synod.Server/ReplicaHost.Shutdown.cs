using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Synod.Server;

/// <summary>
/// Leaving gracefully (`serve --shutdown-drain`, docs/operations.md, "Graceful stop"): a leader told to stop hands
/// leadership to the most up-to-date voter that acknowledges it (the core's handover: no election timeout, and the
/// requests that reach it meanwhile are passed on to the new leader), and every replica waits until the client requests
/// it holds are answered, so that clients see its port close with nothing of theirs in flight.
/// </summary>
public sealed partial class ReplicaHost
{
    private readonly CancellationTokenSource _peersClosing = new();

    /// <summary>
    /// Cancelled when the replica closes its port: peers' inbound connections end then, not when the host is first told
    /// to stop (SIGTERM), because a leader handing over still needs to hear its peers.
    /// </summary>
    public CancellationToken PeersClosing => _peersClosing.Token;

    /// <summary>Ends the peers' inbound connections: the port is about to close.</summary>
    public void ClosePeers() => _peersClosing.Cancel();

    /// <summary>How often a stopping replica looks whether it may go.</summary>
    private const int DrainPollMs = 2;

    /// <summary>
    /// Hands leadership over if this replica leads, then waits until another leader is known and no client request
    /// waits here, or until <paramref name="drain"/> has passed. Returns one line saying what happened, for the log.
    /// </summary>
    public async Task<string> DrainAsync(TimeSpan drain, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        var refusal = await AskAsync<string?>(completion => new HandOverInput(completion), cancellation);
        var view = await AskAsync<DrainView>(completion => new DrainInput(completion), cancellation);
        var led = view.Leads;
        while (Stopwatch.GetElapsedTime(started) < drain)
        {
            view = await AskAsync<DrainView>(completion => new DrainInput(completion), cancellation);
            var handedOver = !view.Leads && view.KnownLeader != 0 && view.KnownLeader != Id;
            if ((!led || handedOver || (refusal is not null && view.Leads)) && view.Waiting == 0)
            {
                break;
            }

            if (led && view.Leads && view.HandoverTarget is null && refusal is null)
            {
                // The core gave the handover up (the target did not stand in time): stop without it; an election follows.
                refusal = "the handover was given up";
            }

            await Task.Delay(DrainPollMs, cancellation);
        }

        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var leadership = !led ? "a follower"
            : !view.Leads && view.KnownLeader != 0 ? $"handed leadership to replica {view.KnownLeader}"
            : !view.Leads ? "stepped down, with no leader known yet"
            : $"still leader ({refusal ?? "the handover did not end in time"}); an election follows";
        return FormattableString.Invariant($"replica {Id} stopping: {leadership}; {view.Waiting} client request(s) unanswered after {ms:F0} ms");
    }

    private async Task<T> AskAsync<T>(Func<TaskCompletionSource<T>, HostInput> input, CancellationToken cancellation)
    {
        var completion = NewCompletion<T>();
        if (!_inputs.Writer.TryWrite(input(completion)))
        {
            throw new OperationCanceledException("The replica is stopping.");
        }

        return await completion.Task.WaitAsync(cancellation);
    }
}
