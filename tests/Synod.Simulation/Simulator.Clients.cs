using System.Text;
using Synod.Checker;
using Synod.Kv;

namespace Synod.Simulation;

/// <summary>
/// The clients: each runs one operation at a time against a random replica, and after a timeout retries the
/// same operation (same client id and sequence) against another one. A write needs a client id that the replicas
/// assigned: a client without one registers first (not an operation of the history), and now and then a client forgets
/// its id, as a restarted process does, so that sessions are evicted and expire while the run goes on. Under faults a client gives up after a
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
    private ulong _lastRegistrationNonce;

    // What the clients last learned each key holds (a read, or a write acknowledged): what a compare-and-swap expects.
    // It may be stale by the time the swap applies, and then the compare fails, as it must.
    private readonly Dictionary<string, string?> _lastSeen = [];

    /// <summary>The bank's accounts (keys "b0".."b3") and the total they always hold once opened.</summary>
    private const int BankAccounts = 4;
    private const int BankTotal = 400;

    /// <summary>Of the clients' operations after any upgrade, the share that are bank operations (reads of every account, transfers).</summary>
    private const int BankOperationPercent = 20;

    // The accounts' values as a client last read them all (null until a read found every account).
    private readonly Dictionary<int, int[]> _bankSeen = [];

    // When a client first heard that the accounts were opened: a read invoked after it must find them.
    private double? _bankOpenedAtMs;

    /// <summary>The history window every replica of this run keeps (drawn per seed).</summary>
    public KvHistoryLimits HistoryLimits { get; }

    // The k-keys as answers said they stood at a revision (a range read of prefix k, now or at that past revision):
    // every answer about one revision must agree, whichever replica gave it and however it was read.
    private readonly Dictionary<long, (IReadOnlyDictionary<string, string> Keys, string Source)> _stateAt = [];
    private readonly List<long> _revisionsSeen = [];

    // Past reads and compactions draw from a stream of their own, so that they move the rest of a seed's schedule little.
    private readonly Synod.Core.SeededRandom _historyRandom;

    // The largest revision a compaction was asked for: reads before it may be refused as compacted.
    private long _compactRequestedMax;

    /// <summary>True while the run is on the build before revisions (the upgrade fault, <see cref="SimulationOptions.UpgradeProbability"/>).</summary>
    public bool BeforeUpgrade { get; private set; }

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

        if (BeginAuthSetup(client))
        {
            return;
        }

        _operationsStarted++;
        if (!BeforeUpgrade && Random.Next(100) < BankOperationPercent)
        {
            StartBankOperation(client);
            return;
        }

        var roll = Random.Next(100);
        if (roll < 4 && !BeforeUpgrade && _revisionsSeen.Count > 0)
        {
            // A read of every key, or of one, as it stood at a revision an earlier read answered at: judged against that
            // answer. Now and then instead a compaction up to such a revision (drawn from a stream of its own).
            var revision = _revisionsSeen[Math.Max(0, _revisionsSeen.Count - 1 - Random.Next(8))];
            var pastKind = _historyRandom.Next(8);
            if (pastKind == 0)
            {
                _compactRequestedMax = Math.Max(_compactRequestedMax, revision);
                Begin(client, new ClientRequest(client.Index, 0, 0, 0, OperationKind.Put, "", null) { CompactTo = revision });
                return;
            }

            var single = pastKind < 4;
            Begin(client, new ClientRequest(client.Index, 0, 0, 0, OperationKind.Get, single ? $"k{_historyRandom.Next(Options.Keys)}" : "k", null, Range: !single)
            {
                AtRevision = revision,
            });
            return;
        }

        if (roll < 10)
        {
            // A range read of every key ("k" is their prefix): judged as one read of each key, at the same times.
            Begin(client, new ClientRequest(client.Index, 0, 0, 0, OperationKind.Get, "k", null, Range: true));
            return;
        }

        if (roll < 20 && BeginTrespass(client))
        {
            return;
        }

        var kind = roll < 40 ? OperationKind.Get
            : roll < 70 ? OperationKind.Put
            : roll < 80 ? OperationKind.Delete
            : BeforeUpgrade ? OperationKind.Put // the build before revisions has no compare-and-swap
            : OperationKind.Cas;
        var key = $"k{Random.Next(Options.Keys)}";
        var value = kind is OperationKind.Put or OperationKind.Cas ? $"c{client.Index}-{_operationsStarted}" : null;
        var expect = kind == OperationKind.Cas ? _lastSeen.GetValueOrDefault(key) : null;
        var request = new ClientRequest(client.Index, 0, 0, 0, kind, key, value, Expect: expect);
        if (kind != OperationKind.Get && Random.NextDouble() < Options.ClientRestartProbability)
        {
            client.ForgetClientId();
        }

        Begin(client, request);
    }

    /// <summary>
    /// Starts a client's operation: a read as it is; a write under the client's id and its next sequence, after a
    /// registration when the client has no id.
    /// </summary>
    private void Begin(SimClient client, ClientRequest request)
    {
        request = WithUser(client, request);
        if (request.Kind == OperationKind.Get)
        {
            client.Current = request;
        }
        else if (client.ClientId == 0)
        {
            client.PendingWrite = request;
            client.Current = request with { Sequence = ++_lastRegistrationNonce, Register = true };
        }
        else
        {
            client.Current = request with { ClientId = client.ClientId, Sequence = ++client.Sequence };
        }

        client.InvokeMs = NowMs;
        client.AttemptsOfOperation = 0;
        client.DuplicatedAttempts.Clear();
        SendAttempt(client);
    }

    private void SendAttempt(SimClient client)
    {
        client.Attempt++;
        client.AttemptsOfOperation++;
        // Among the replicas that are members (all of them, unless membership changes in this run).
        var members = ActiveIds;
        if (members.Count == 0)
        {
            // Every replica was retired: the cluster has nowhere left to take a request (seen under bug configuration-at-once).
            _violations.Add($"at {NowMs} ms: no replica is a member any more; client {client.Index} has nowhere to send its request.");
            _finished = true;
            return;
        }

        var index = Random.Next(members.Count);
        if (members[index] == client.LastReplica && members.Count > 1)
        {
            index = (index + 1) % members.Count;
        }

        var replica = members[index];

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

    /// <summary>Whether a client still waits for this attempt; a replica's waiter for an earlier one is abandoned.</summary>
    internal bool IsCurrentAttempt(int client, long attempt) => _clients[client - 1] is { Current: not null } c && c.Attempt == attempt;

    private void OnClientReply(ClientReply reply)
    {
        var client = _clients[reply.Client - 1];
        if (client.Current is null || reply.Attempt != client.Attempt)
        {
            return;
        }

        var request = client.Current;
        if (reply.SessionGone && request.IsSideOperation)
        {
            client.ForgetClientId();
            if (request.AuthChange is { } again)
            {
                // A step of the auth setup is made again under a new client id (AuthExists if the first copy was made).
                Begin(client, new ClientRequest(client.Index, 0, 0, 0, OperationKind.Put, "", null) { AuthChange = again, User = request.User });
                return;
            }

            EndOperation(client);
            return;
        }

        if (request.Lease != 0 && !request.Register)
        {
            OnTrespassAnswered(reply);
            EndOperation(client);
            return;
        }

        if (reply.SessionGone)
        {
            // Not applied by this attempt; an earlier one that went unanswered may have been, before the session went.
            client.ForgetClientId();
            _history.Add(new Operation(client.Index, request.Kind, request.Key, request.Value, null, client.InvokeMs,
                client.AttemptsOfOperation > 1 ? null : NowMs, client.AttemptsOfOperation > 1 ? Outcome.Unknown : Outcome.Fail) { Expect = request.Expect });
            EndOperation(client);
            return;
        }

        if (reply.Denied)
        {
            OnDenied(client, request);
            return;
        }

        if (reply.NoSpace)
        {
            OnNoSpace(client, request);
            return;
        }

        if (!reply.Ok)
        {
            OnAttemptFailed(client, timedOut: false);
            return;
        }

        if (request.Register)
        {
            client.ClientId = reply.RegisteredClientId;
            client.Sequence = 1;
            client.Current = client.PendingWrite! with { ClientId = client.ClientId, Sequence = 1 };
            client.PendingWrite = null;
            client.AttemptsOfOperation = 0;
            SendAttempt(client);
            return;
        }

        if (request.CompactTo != 0)
        {
            EndOperation(client);
            return;
        }

        if (request.AuthChange is { } change)
        {
            OnAuthChangeDone(reply, change);
            EndOperation(client);
            return;
        }

        if (request.Txn is not null)
        {
            // Judged by the bank's invariant (every read of all accounts sums to the total), not by the register checker.
            if (reply.Swapped == true && request.Txn.Compares.Count == 1 && request.Txn.Compares[0].Condition.Equals(KvCondition.Absent))
            {
                _bankOpenedAtMs ??= NowMs;
            }

            EndOperation(client);
            return;
        }

        if (request.Range && request.Key == "b")
        {
            CheckBank(client, reply.Found ?? throw new InvalidOperationException("a range read's answer lists what it found"));
            EndOperation(client);
            return;
        }

        if (request.AtRevision != 0)
        {
            CheckPastRead(request, reply);
            EndOperation(client);
            return;
        }

        if (request.Range)
        {
            var found = reply.Found ?? throw new InvalidOperationException("a range read's answer lists what it found");
            NoteStateAt(reply.Revision, found, $"a range read (now) answered at revision {reply.Revision}");
            for (var key = 0; key < Options.Keys; key++)
            {
                var name = $"k{key}";
                _history.Add(new Operation(client.Index, OperationKind.Get, name, null, found.GetValueOrDefault(name), client.InvokeMs, NowMs, Outcome.Ok));
            }

            if (found.Keys.Any(key => !key.StartsWith('k')))
            {
                _violations.Add($"a range read of prefix k returned keys outside it: {string.Join(", ", found.Keys)}");
            }

            EndOperation(client);
            return;
        }

        _history.Add(new Operation(client.Index, request.Kind, request.Key, request.Value,
            request.Kind == OperationKind.Get ? reply.Value : null, client.InvokeMs, NowMs, Outcome.Ok)
        {
            Expect = request.Expect,
            Swapped = request.Kind == OperationKind.Cas ? reply.Swapped ?? throw new InvalidOperationException("a compare-and-swap's answer says whether it swapped") : null,
        });
        CheckAcknowledgedWrite(client, request);
        if (request.Kind is OperationKind.Put || (request.Kind == OperationKind.Cas && reply.Swapped == true))
        {
            NoteAcknowledgedChange(reply.Revision, request.Key, request.Value);
        }
        else if (request.Kind == OperationKind.Delete && reply.Detail == nameof(KvStatus.Ok))
        {
            NoteAcknowledgedChange(reply.Revision, request.Key, null);
        }

        _lastSeen[request.Key] = request.Kind switch
        {
            OperationKind.Get => reply.Value,
            OperationKind.Put => request.Value,
            OperationKind.Delete => null,
            _ => reply.Swapped == true ? request.Value : _lastSeen.GetValueOrDefault(request.Key),
        };
        EndOperation(client);
    }

    /// <summary>
    /// A read at a past revision: refused only as compacted (never as in the future: an earlier read was answered at
    /// that revision, so a linearizable read now is served from at least as far), and otherwise the keys exactly as
    /// every other answer about that revision has them.
    /// </summary>
    private void CheckPastRead(ClientRequest request, ClientReply reply)
    {
        if (reply.Refused is { } refused)
        {
            // Compacted is the only refusal an observed revision may get, and only past a bound: a compaction asked for
            // beyond it, or (without a bytes bound) the window's revisions.
            // (In a run upgraded in place, the revisions numbered when revisions started have no history: not judged.)
            var windowStart = HistoryLimits.Bytes == long.MaxValue && Faults.Upgrades == 0 ? refused.Revision - HistoryLimits.Revisions + 1 : long.MaxValue;
            if (!refused.Compacted || (request.AtRevision >= _compactRequestedMax && request.AtRevision >= windowStart))
            {
                _violations.Add($"at {NowMs} ms: a read at revision {request.AtRevision}, which an earlier read was answered at, was refused: {refused.Message} " +
                    $"(no compaction past it was asked for, and the window of {HistoryLimits.Revisions} revisions still holds it).");
            }

            return;
        }

        if (!request.Range)
        {
            // One key: as a whole read of that revision found it, if one did.
            if (_stateAt.TryGetValue(request.AtRevision, out var state) && state.Keys.GetValueOrDefault(request.Key) != reply.Value)
            {
                _violations.Add($"at {NowMs} ms: a read of {request.Key} at revision {request.AtRevision} found {reply.Value ?? "(absent)"}, but {state.Source} found {state.Keys.GetValueOrDefault(request.Key) ?? "(absent)"} there.");
            }

            return;
        }

        NoteStateAt(request.AtRevision, reply.Found ?? throw new InvalidOperationException("a range read's answer lists what it found"), $"a read at revision {request.AtRevision}");
    }

    private void NoteStateAt(long revision, IReadOnlyDictionary<string, string> found, string source)
    {
        if (BeforeUpgrade || revision == 0)
        {
            return;
        }

        if (!_stateAt.TryGetValue(revision, out var known))
        {
            _stateAt[revision] = (found, source);
            _revisionsSeen.Add(revision);
            if (_changesAt.TryGetValue(revision, out var changes))
            {
                foreach (var (key, value) in changes.Changes.Where(change => found.GetValueOrDefault(change.Key) != change.Value))
                {
                    _violations.Add($"at {NowMs} ms: {changes.Source} reported {key}={value ?? "(deleted)"} at revision {revision}, but {source} found {key}={found.GetValueOrDefault(key) ?? "(absent)"} there.");
                }
            }

            return;
        }

        if (known.Keys.Count != found.Count || known.Keys.Any(pair => !found.TryGetValue(pair.Key, out var value) || value != pair.Value))
        {
            _violations.Add(
                $"at {NowMs} ms: two answers disagree on the keys at revision {revision}: {known.Source} gave {Show(known.Keys)}, {source} gave {Show(found)}");
        }

        static string Show(IReadOnlyDictionary<string, string> keys) =>
            "{" + string.Join(", ", keys.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => $"{pair.Key}={pair.Value}")) + "}";
    }

    /// <summary>
    /// A run stopped early (an oracle found a violation, or the time ran out): a write still in flight may have taken
    /// effect, and a read may have seen it, so it goes into the history with its outcome unknown, as one given up does.
    /// </summary>
    private void AddWritesInFlightAsUnknown()
    {
        foreach (var client in _clients)
        {
            if (client.Current is { } request && request.Kind != OperationKind.Get && !request.Range && !request.Register && !request.IsSideOperation &&
                request.AuthChange is null && request.CompactTo == 0)
            {
                _history.Add(new Operation(client.Index, request.Kind, request.Key, request.Value, null, client.InvokeMs, null, Outcome.Unknown) { Expect = request.Expect });
            }
        }
    }

    private void OnAttemptFailed(SimClient client, bool timedOut)
    {
        Faults.ClientRetries++;
        // A step of the auth setup is never given up: the steps after it would be made without it.
        var settingUp = client.Current?.AuthChange is not null || client.PendingWrite?.AuthChange is not null;
        if (!_healed && client.AttemptsOfOperation >= Options.ClientAttemptsMax && !settingUp)
        {
            var request = client.Current!;
            if (request.IsSideOperation || (request.Register && client.PendingWrite?.IsSideOperation == true))
            {
                // A bank transaction is judged by the invariant alone: an unknown one may or may not have moved money.
                client.PendingWrite = null;
            }
            else if (request.Register)
            {
                // The write was never sent; the registration, if it took effect, only spent an id.
                _history.Add(new Operation(client.Index, request.Kind, request.Key, request.Value, null, client.InvokeMs, NowMs, Outcome.Fail) { Expect = request.Expect });
                client.PendingWrite = null;
            }
            else
            {
                // A write that may still be in flight somewhere may take effect at any later time: outcome unknown.
                _history.Add(new Operation(client.Index, request.Kind, request.Key, request.Value, null, client.InvokeMs, null, Outcome.Unknown) { Expect = request.Expect });
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

    /// <summary>
    /// A write refused for space: not proposed by this attempt, so on a first attempt it did not happen; after an earlier
    /// attempt that may be in flight, or when the network delivered this attempt twice (the other copy may have been
    /// judged after a delete made room), its outcome is unknown. Not retried either way: space comes back only with deletes.
    /// </summary>
    private void OnNoSpace(SimClient client, ClientRequest request)
    {
        Faults.WritesRefusedNoSpace++;
        if (!request.IsSideOperation)
        {
            var first = client.AttemptsOfOperation == 1 && !client.DuplicatedAttempts.Contains(client.Attempt);
            _history.Add(new Operation(client.Index, request.Kind, request.Key, request.Value, null, client.InvokeMs, first ? NowMs : null, first ? Outcome.Fail : Outcome.Unknown) { Expect = request.Expect });
        }

        EndOperation(client);
    }

    private void EndOperation(SimClient client)
    {
        client.Current = null;
        client.Attempt++;
        _operationsEnded++;
        if (BeforeUpgrade && _operationsEnded >= Options.Ops / 4)
        {
            // Every replica runs this build from now on: clients write the current encoding, snapshots the current format.
            BeforeUpgrade = false;
            Faults.Upgrades++;
            StartWatchers();
        }

        if (BeforeLeaseOwners && _operationsEnded >= Options.Ops / 4)
        {
            BeforeLeaseOwners = false;
            Faults.OwnerUpgrades++;
        }

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

    /// <summary>
    /// A bank operation: a read of every account, or a transfer between two (a transaction whose compares are the values
    /// the client last read, so a transfer from stale balances fails), or opening the accounts once.
    /// </summary>
    private void StartBankOperation(SimClient client)
    {
        ClientRequest request;
        if (!_bankSeen.TryGetValue(client.Index, out var seen) || Random.Next(3) == 0)
        {
            request = new ClientRequest(client.Index, 0, 0, 0, OperationKind.Get, "b", null, Range: true);
            if (!_bankSeen.ContainsKey(client.Index))
            {
                // Open the accounts if nobody has: only if b0 was never written.
                var open = new KvTxn(
                    [new KvTxnCompare(Encoding.UTF8.GetBytes("b0"), KvCondition.Absent)],
                    [.. Enumerable.Range(0, BankAccounts).Select(a => KvTxnOp.Put(Encoding.UTF8.GetBytes($"b{a}"), Encoding.UTF8.GetBytes($"{BankTotal / BankAccounts}")))],
                    []);
                request = new ClientRequest(client.Index, 0, 0, 0, OperationKind.Put, "b0", null, Txn: open);
                _bankSeen[client.Index] = [];
            }
        }
        else if (seen.Length == BankAccounts)
        {
            var from = Random.Next(BankAccounts);
            var to = (from + 1 + Random.Next(BankAccounts - 1)) % BankAccounts;
            var amount = Math.Min(seen[from], 1 + Random.Next(30));
            var transfer = new KvTxn(
                [
                    new KvTxnCompare(Encoding.UTF8.GetBytes($"b{from}"), new KvCondition(KvCompareTarget.Value, KvCompareOp.Equal, 0, Encoding.UTF8.GetBytes($"{seen[from]}"))),
                    new KvTxnCompare(Encoding.UTF8.GetBytes($"b{to}"), new KvCondition(KvCompareTarget.Value, KvCompareOp.Equal, 0, Encoding.UTF8.GetBytes($"{seen[to]}"))),
                ],
                [
                    KvTxnOp.Put(Encoding.UTF8.GetBytes($"b{from}"), Encoding.UTF8.GetBytes($"{seen[from] - amount}")),
                    KvTxnOp.Put(Encoding.UTF8.GetBytes($"b{to}"), Encoding.UTF8.GetBytes($"{seen[to] + amount}")),
                ],
                []);
            request = new ClientRequest(client.Index, 0, 0, 0, OperationKind.Put, $"b{from}", null, Txn: transfer);
        }
        else
        {
            request = new ClientRequest(client.Index, 0, 0, 0, OperationKind.Get, "b", null, Range: true);
        }

        Begin(client, request);
    }

    /// <summary>The bank's invariant on the converged state at the end of a run, when the accounts were opened.</summary>
    internal void CheckBankAtEnd(KvStateMachine kv)
    {
        if (_bankOpenedAtMs is null)
        {
            return;
        }

        var accounts = kv.Range(KvRange.Prefix(Encoding.UTF8.GetBytes("b"))).Entries;
        var balances = accounts.Select(a => int.TryParse(Encoding.UTF8.GetString(a.Entry.Value.Span), System.Globalization.CultureInfo.InvariantCulture, out var balance) ? balance : (int?)null).ToList();
        var sum = balances.Sum() ?? 0;
        if (accounts.Count != BankAccounts || sum != BankTotal || balances.Contains(null))
        {
            _violations.Add($"at the end the bank holds {accounts.Count} accounts summing to {sum}; it must hold {BankAccounts} summing to {BankTotal}.");
        }
    }

    /// <summary>The bank's invariant: a linearizable read of every account, once they are open, sums to the total.</summary>
    private void CheckBank(SimClient client, IReadOnlyDictionary<string, string> found)
    {
        if (found.Count == 0)
        {
            if (_bankOpenedAtMs is { } opened && client.InvokeMs > opened)
            {
                _violations.Add($"at {NowMs} ms client {client.Index} found no account, though the accounts were opened at {opened} ms, before it asked.");
            }

            return;
        }

        var balances = Enumerable.Range(0, BankAccounts).Select(a => found.TryGetValue($"b{a}", out var v) && int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var balance) ? balance : -1).ToArray();
        if (balances.Contains(-1) || balances.Sum() != BankTotal)
        {
            _violations.Add($"at {NowMs} ms client {client.Index} read the bank's accounts as {string.Join(", ", found.Select(kv => $"{kv.Key}={kv.Value}"))}: " +
                $"they must be {BankAccounts} accounts summing to {BankTotal} (a transaction applied in part, twice, or from a stale compare)");
            return;
        }

        _bankSeen[client.Index] = balances;
    }
}
