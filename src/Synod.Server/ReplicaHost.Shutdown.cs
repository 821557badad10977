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

    /// <summary>How many handovers one drain asks for at most (a handover given up, or leadership won during the drain, asks again).</summary>
    private const int HandoverAsksMax = 3;

    /// <summary>
    /// Hands leadership over whenever this replica leads with no handover under way (at the start, after a handover was
    /// given up, or when it was elected during the drain; at most <see cref="HandoverAsksMax"/> times), and waits until
    /// another leader is known and no client request that still has a caller waits here, or until
    /// <paramref name="drain"/> has passed. Returns one line saying what happened, for the log.
    /// </summary>
    public async Task<string> DrainAsync(TimeSpan drain, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        var asks = 0;
        var led = false;
        string? refusal = null;
        DrainView view;
        while (true)
        {
            view = await AskAsync<DrainView>(completion => new DrainInput(completion), cancellation);
            led |= view.Leads;
            if (view.Leads && view.HandoverTarget is null && asks < HandoverAsksMax)
            {
                asks++;
                refusal = await AskAsync<string?>(completion => new HandOverInput(completion), cancellation);
                if (refusal is null)
                {
                    continue;
                }
            }

            // Settled: a follower that knows the leader (or never led); or a leader that cannot hand over.
            var settled = view.Leads ? view.HandoverTarget is null && (refusal is not null || asks >= HandoverAsksMax) : !led || view.KnownLeader != 0;
            if ((settled && view.Waiting == 0) || Stopwatch.GetElapsedTime(started) >= drain)
            {
                break;
            }

            await Task.Delay(DrainPollMs, cancellation);
        }

        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var leadership = !led ? "a follower"
            : !view.Leads && view.KnownLeader != 0 ? $"handed leadership to replica {view.KnownLeader}"
            : !view.Leads ? "stepped down, with no leader known yet"
            : $"still leader ({refusal ?? view.LastHandoverFailure ?? "the handover did not end in time"}); an election follows";
        return FormattableString.Invariant($"replica {Id} stopping: {leadership}; {view.Waiting} client request(s) unanswered after {ms:F0} ms");
    }

    /// <summary>
    /// Once the port takes no new request (Kestrel is stopping), waits until every request it holds is answered, or
    /// <paramref name="limit"/> has passed: the peers must still be heard for that, so they are closed only after.
    /// </summary>
    public async Task WaitAnsweredAsync(TimeSpan limit, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < limit &&
            (await AskAsync<DrainView>(completion => new DrainInput(completion), cancellation)).Waiting > 0)
        {
            await Task.Delay(DrainPollMs, cancellation);
        }
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
