using Synod.Checker;
using Synod.Client;

namespace Synod.Chaos;

/// <summary>
/// One workload client: a mixed get/put/delete loop, one operation at a time, over a small key space, through a
/// random replica (pinned) or wherever its own client's failover leads. Each write's value is unique ("c3-17"), so a
/// read names the one write it saw and the checker has the most to go on. Every operation is recorded with its
/// invocation and completion on the run clock, or with an unknown outcome.
/// </summary>
internal sealed class WorkloadClient
{
    /// <summary>A write that timed out or found no quorum is unknown; short, so that faults show up in the history quickly.</summary>
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromMilliseconds(2_500);

    /// <summary>One attempt at one replica; a paused replica costs this much before failover.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromMilliseconds(1_000);

    /// <summary>The deadline of an operation pinned to one replica: a single attempt.</summary>
    public static readonly TimeSpan PinnedOperationTimeout = AttemptTimeout;

    private const double GetShare = 0.5;
    private const double PutShare = 0.35;
    // Most operations go wherever the client's own failover leads (it starts at a random replica and moves on when
    // one does not answer); a few go to one random replica only, which exercises forwarding from followers and the
    // answers of a replica that is cut off. Few, and with a short deadline, because a closed-loop client stuck on a
    // replica that cannot answer would otherwise make a minority fault look like an outage of the whole cluster.
    private const double PinnedShare = 0.1;

    /// <summary>A pause after a failure, so a client facing a dead pinned replica does not spin.</summary>
    private const int FailurePauseMsMin = 50;

    private const int FailurePauseMsMax = 150;

    private readonly int _id;
    private readonly int _keys;
    private readonly Random _random;
    private readonly RunClock _clock;
    private readonly HistoryRecorder _history;
    private readonly SynodClient _client;
    private int _writes;

    // With --workload cas: the share of writes that are compare-and-swaps (all of them without register).
    private const double CasShareOfWrites = 0.4;

    private readonly ChaosWorkload _workloads;
    private readonly ChangeLog _changes;

    // What this client last learned each key holds (a read, or its own write acknowledged): what a compare-and-swap expects.
    private readonly Dictionary<string, string?> _lastSeen = [];

    public WorkloadClient(int id, IReadOnlyList<string> endpoints, int keys, int seed, RunClock clock, HistoryRecorder history, ChaosWorkload workloads, ChangeLog changes)
    {
        _id = id;
        _keys = keys;
        _workloads = workloads;
        _changes = changes;
        // HashCode.Combine is salted per process, so the seed is mixed by hand to repeat across runs.
        _random = new Random(unchecked((seed * 7_919) + id));

        _clock = clock;
        _history = history;
        _client = NewClient(endpoints, _random);
    }

    /// <summary>
    /// The client every workload of a run uses, with the run's timeouts and backoff. Each lists the replicas in its own
    /// order, because failover goes to the next one in the list: with one order for all, every client stuck on a
    /// cut-off replica would try its cut-off neighbour next.
    /// </summary>
    internal static SynodClient NewClient(IReadOnlyList<string> endpoints, Random random)
    {
        var order = endpoints.ToArray();
        random.Shuffle(order);
        return new SynodClient(new SynodClientOptions
        {
            Endpoints = order,
            OperationTimeout = OperationTimeout,
            AttemptTimeout = AttemptTimeout,
            RetryBackoff = TimeSpan.FromMilliseconds(50),
            RetryBackoffMax = TimeSpan.FromMilliseconds(400),
        });
    }

    /// <summary>
    /// Runs operations until <paramref name="stop"/>; the operation in flight then finishes within its own timeout.
    /// <paramref name="abort"/> cancels even that (Ctrl-C).
    /// </summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        await using (_client)
        {
            while (!stop.IsCancellationRequested && !abort.IsCancellationRequested)
            {
                var outcome = await RunOneAsync(abort);
                if (outcome != Outcome.Ok)
                {
                    try
                    {
                        await Task.Delay(_random.Next(FailurePauseMsMin, FailurePauseMsMax), stop);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }
    }

    private async Task<Outcome> RunOneAsync(CancellationToken abort)
    {
        var key = $"k{_random.Next(_keys)}";
        var pick = _random.NextDouble();
        var kind = pick < GetShare ? OperationKind.Get : pick < GetShare + PutShare ? OperationKind.Put : OperationKind.Delete;
        if (kind != OperationKind.Get && _workloads.HasFlag(ChaosWorkload.Cas)
            && (!_workloads.HasFlag(ChaosWorkload.Register) || _random.NextDouble() < CasShareOfWrites))
        {
            kind = OperationKind.Cas;
        }

        var value = kind is OperationKind.Put or OperationKind.Cas ? $"c{_id}-{++_writes}" : null;
        var expect = kind == OperationKind.Cas ? _lastSeen.GetValueOrDefault(key) : null;
        bool? swapped = null;
        var options = _random.NextDouble() < PinnedShare
            ? new SynodCallOptions { PinnedEndpointIndex = _random.Next(_client.Endpoints.Count), OperationTimeout = PinnedOperationTimeout }
            : null;
        var invoke = _clock.Now;
        Operation done;
        try
        {
            string? result = null;
            switch (kind)
            {
                case OperationKind.Get:
                    result = await ReadAsync(key, options, abort);
                    _lastSeen[key] = result;
                    break;
                case OperationKind.Put:
                    var put = await _client.PutAsync(key, value!, options, abort);
                    _changes.Add(put.Revision, key, value);
                    _lastSeen[key] = value;
                    break;
                case OperationKind.Cas:
                    var swap = await _client.PutAsync(key, value!, expect is null ? SynodCompare.Absent : SynodCompare.ValueIs(expect), options, abort);
                    swapped = !swap.CompareFailed;
                    if (swap.CompareFailed)
                    {
                        _lastSeen.Remove(key);
                    }
                    else
                    {
                        _changes.Add(swap.Revision, key, value);
                        _lastSeen[key] = value;
                    }

                    break;
                default:
                    var deleted = await _client.DeleteAsync(key, options, abort);
                    if (deleted.Existed)
                    {
                        _changes.Add(deleted.Revision, key, null);
                    }

                    _lastSeen[key] = null;
                    break;
            }

            done = new Operation(_id, kind, key, value, result, invoke, _clock.Now, Outcome.Ok) { Expect = expect, Swapped = swapped };
        }
        catch (Exception e)
        {
            // Any failure is recorded, never thrown: an unexpected one counts as unknown for a write, the safe reading.
            var outcome = OutcomeRules.ForFailure(e, kind != OperationKind.Get);
            done = new Operation(_id, kind, key, value, null, invoke, outcome == Outcome.Unknown ? null : _clock.Now, outcome) { Expect = expect };
            _lastSeen.Remove(key);
            _history.AddFailure(done, e);
        }

        _history.Add(done);
        return done.Outcome;
    }

    private async Task<string?> ReadAsync(string key, SynodCallOptions? options, CancellationToken abort)
    {
        try
        {
            return (await _client.GetAsync(key, stale: false, options, abort)).ValueAsString();
        }
        catch (SynodNotFoundException)
        {
            return null;
        }
    }
}
