using Synod.Checker;

namespace Synod.Simulation;

/// <summary>
/// The clients: each runs one operation at a time against a random replica, and after a timeout retries the
/// same operation (same client id and sequence) against another one. Under faults a client gives up after a
/// few attempts and records the outcome as unknown; after healing it must always succeed, in bounded time.
/// Every operation's invocation, completion and result go into the history that the checker judges.
/// </summary>
public sealed partial class Simulator
{
    private const int RetryBackoffMs = 5;
    private const int LivenessWatchMs = 500;

    private readonly SimClient[] _clients;
    private readonly List<Operation> _history = [];
    private int _operationsStarted;
    private int _operationsEnded;

    private void StartNextOperation(SimClient client)
    {
        if (_operationsStarted >= Options.Ops)
        {
            client.Done = true;
            client.Current = null;
            if (_clients.All(c => c.Done))
            {
                OnClientsDone();
            }

            return;
        }

        _operationsStarted++;
        var roll = Random.Next(100);
        var kind = roll < 45 ? OperationKind.Get : roll < 85 ? OperationKind.Put : OperationKind.Delete;
        var key = $"k{Random.Next(Options.Keys)}";
        string? value = null;
        if (kind != OperationKind.Get)
        {
            client.Sequence++;
            value = kind == OperationKind.Put ? $"c{client.ClientId}-{client.Sequence}" : null;
        }

        client.Current = new ClientRequest(client.Index, 0, client.ClientId, client.Sequence, kind, key, value);
        client.InvokeMs = NowMs;
        client.AttemptsOfOperation = 0;
        SendAttempt(client);
    }

    private void SendAttempt(SimClient client)
    {
        client.Attempt++;
        client.AttemptsOfOperation++;
        var replica = 1 + Random.Next(_hosts.Length);
        if (replica == client.LastReplica && _hosts.Length > 1)
        {
            replica = 1 + (replica % _hosts.Length);
        }

        client.LastReplica = replica;
        var request = client.Current! with { Attempt = client.Attempt };
        SendClientRequest(replica, request);
        var attempt = client.Attempt;
        Schedule(NowMs + Options.ClientTimeoutMs, Tracing ? $"timeout? c{client.Index} a{attempt}" : null, () =>
        {
            if (client.Current is not null && client.Attempt == attempt)
            {
                OnAttemptFailed(client, timedOut: true);
            }
        });
    }

    private void OnClientReply(ClientReply reply)
    {
        var client = _clients[reply.Client - 1];
        if (client.Current is null || reply.Attempt != client.Attempt)
        {
            return;
        }

        if (!reply.Ok)
        {
            OnAttemptFailed(client, timedOut: false);
            return;
        }

        var request = client.Current;
        client.HasAcknowledgedWrite |= request.Kind != OperationKind.Get;
        _history.Add(new Operation(client.Index, request.Kind, request.Key, request.Value,
            request.Kind == OperationKind.Get ? reply.Value : null, client.InvokeMs, NowMs, Outcome.Ok));
        EndOperation(client);
    }

    private void OnAttemptFailed(SimClient client, bool timedOut)
    {
        Faults.ClientRetries++;
        if (!_healed && client.AttemptsOfOperation >= Options.ClientAttemptsMax)
        {
            var request = client.Current!;
            // A write that may still be in flight somewhere may take effect at any later time: outcome unknown.
            _history.Add(new Operation(client.Index, request.Kind, request.Key, request.Value, null, client.InvokeMs, null, Outcome.Unknown));
            if (request.Kind != OperationKind.Get && !client.HasAcknowledgedWrite)
            {
                client.AbandonClientId();
            }

            EndOperation(client);
            return;
        }

        var delay = timedOut ? 0 : RetryBackoffMs;
        var attempt = client.Attempt;
        Schedule(NowMs + delay, Tracing ? $"retry c{client.Index}" : null, () =>
        {
            if (client.Current is not null && client.Attempt == attempt)
            {
                SendAttempt(client);
            }
        });
    }

    private void EndOperation(SimClient client)
    {
        client.Current = null;
        client.Attempt++;
        _operationsEnded++;
        if (_operationsEnded >= Options.Ops / 2)
        {
            HealEverything();
        }

        Schedule(NowMs + Random.Next(5), null, () => StartNextOperation(client));
    }

    private void ScheduleLivenessWatch()
    {
        Schedule(NowMs + LivenessWatchMs, null, () =>
        {
            foreach (var client in _clients)
            {
                if (client.Current is null)
                {
                    continue;
                }

                var since = Math.Max(client.InvokeMs, _healedAtMs);
                if (NowMs - since > Options.LivenessDeadlineMs)
                {
                    _violations.Add($"no progress after healing: client {client.Index}'s {client.Current.Kind} of {client.Current.Key} " +
                        $"has not completed {NowMs - since} ms after faults were healed (liveness). Replicas: {DescribeReplicas()}");
                    _finished = true;
                    return;
                }
            }

            ScheduleLivenessWatch();
        });
    }
}
