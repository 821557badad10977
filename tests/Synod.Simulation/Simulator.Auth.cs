using System.Text;
using Synod.Checker;
using Synod.Kv;

namespace Synod.Simulation;

/// <summary>
/// Authentication in a run (<see cref="SimulationOptions.AuthProbability"/>): client 1 first adds users root and
/// <see cref="LimitedUser"/> (readwrite on the first half of the keys only) and turns authentication on, all through the
/// log; the even-numbered clients then write as <see cref="LimitedUser"/>, the others, lease holders and side operations
/// as root. Two checks: a write refused for want of permission is recorded as failed, so the linearizability checker
/// proves it never took effect; and a write outside the grants, begun after the enable was acknowledged, must never be
/// acknowledged. A snapshot that lost the users, or an apply that skipped the check, breaks one or the other (or the
/// replicas' convergence, since users are part of the content hash). Watcher 2 watches every k-key as
/// <see cref="LimitedUser"/> (allowed while authentication is off): once it is on, the watch must end with permission
/// denied, and no change made by a write begun after the enable was acknowledged may reach it; watcher 1 watches as
/// root and must never be refused.
/// </summary>
public sealed partial class Simulator
{
    public const string LimitedUser = "limited";

    private readonly List<KvAuthChange> _authSetup;
    private int _authSetupNext;
    private long? _authEnabledAtMs;

    // Setup changes acknowledged Ok; a change given up after its attempts may never have been made.
    private int _authSetupDone;

    // The values of the writes begun after the enable was acknowledged: none may reach a watch of LimitedUser's.
    private readonly HashSet<string> _valuesWrittenAfterEnable = [];

    /// <summary>Whether this run turns authentication on.</summary>
    public bool Authenticating { get; }

    private static List<KvAuthChange> AuthSetup(int keys, bool trespasses)
    {
        var setup = new List<KvAuthChange>
        {
            new(KvAuthChangeKind.UserAdd, Name: KvAuth.RootUser, SecretBytes: [1]),
            new(KvAuthChangeKind.UserAdd, Name: LimitedUser, SecretBytes: [2]),
            new(KvAuthChangeKind.RoleAdd, Role: "half"),
        };
        if (keys <= 10)
        {
            // One range [k0, kN) holds the first half while key names have one digit.
            setup.Add(new(KvAuthChangeKind.RoleGrant, Role: "half", Permission: new KvPermission(KvPermissionKind.ReadWrite, "k0"u8.ToArray(), System.Text.Encoding.UTF8.GetBytes($"k{keys / 2}"))));
        }
        else
        {
            for (var key = 0; key < keys / 2; key++)
            {
                setup.Add(new(KvAuthChangeKind.RoleGrant, Role: "half", Permission: KvPermission.OnKey(KvPermissionKind.ReadWrite, System.Text.Encoding.UTF8.GetBytes($"k{key}"))));
            }
        }

        if (trespasses)
        {
            // The keys LimitedUser attaches to the lease holders' leases (root's): see TrespassKeyPrefix.
            setup.Add(new(KvAuthChangeKind.RoleGrant, Role: "half", Permission: KvPermission.OnPrefix(KvPermissionKind.ReadWrite, Encoding.UTF8.GetBytes(TrespassKeyPrefix))));
        }

        setup.Add(new(KvAuthChangeKind.UserGrantRole, Name: LimitedUser, Role: "half"));
        setup.Add(new(KvAuthChangeKind.Enable, SecretBytes: new byte[KvAuthChange.TokenKeyBytes]));
        return setup;
    }

    /// <summary>Whether <see cref="LimitedUser"/> may write key "kN": the first half of the keys.</summary>
    private bool AllowedForLimited(string key) =>
        key.Length > 1 && key[0] == 'k' && int.TryParse(key.AsSpan(1), out var index) && index < Options.Keys / 2;

    /// <summary>Client 1's next step of the setup, if any is left: true when one was begun.</summary>
    private bool BeginAuthSetup(SimClient client)
    {
        if (!Authenticating || client.Index != 1 || _authSetupNext >= _authSetup.Count)
        {
            return false;
        }

        if (_authSetupNext == 0)
        {
            Faults.AuthRuns = 1;
        }

        Begin(client, new ClientRequest(client.Index, 0, 0, 0, OperationKind.Put, "", null) { AuthChange = _authSetup[_authSetupNext++], User = KvAuth.RootUser });
        return true;
    }

    /// <summary>The user a client's request is made as: side operations and odd clients as root, even clients as <see cref="LimitedUser"/>.</summary>
    private ClientRequest WithUser(SimClient client, ClientRequest request)
    {
        if (!Authenticating || request.AuthChange is not null)
        {
            return request;
        }

        var user = request.Lease != 0 ? LimitedUser : request.IsSideOperation || client.Index % 2 == 1 ? KvAuth.RootUser : LimitedUser;
        if (_authEnabledAtMs is not null && request.Value is { } value)
        {
            _valuesWrittenAfterEnable.Add(value);
        }

        if (_authEnabledAtMs is not null && user == LimitedUser && request.Kind != OperationKind.Get && !AllowedForLimited(request.Key))
        {
            Faults.ForbiddenWritesTried++;
        }

        return request with { User = user };
    }

    /// <summary>A write refused for want of permission: it never takes effect, and only a write outside the grants may be refused.</summary>
    private void OnDenied(SimClient client, ClientRequest request)
    {
        Faults.WritesDenied++;

        // Only once every step of the setup is known made may a refusal inside the grants be called wrong.
        if (request.IsSideOperation || request.User != LimitedUser || (AllowedForLimited(request.Key) && _authSetupDone == _authSetup.Count))
        {
            _violations.Add($"client {client.Index}'s {request.Kind} of '{request.Key}' as '{request.User}' was refused for want of permission, though its user may make it.");
        }

        if (!request.IsSideOperation)
        {
            _history.Add(new Operation(client.Index, request.Kind, request.Key, request.Value, null, client.InvokeMs, NowMs, Outcome.Fail) { Expect = request.Expect });
        }

        EndOperation(client);
    }

    /// <summary>An auth change answered: the enable's acknowledgement starts the check of every later write.</summary>
    private void OnAuthChangeDone(ClientReply reply, KvAuthChange change)
    {
        if (reply.Detail is nameof(KvStatus.Ok) or nameof(KvStatus.AuthExists))
        {
            _authSetupDone++;
        }

        if (change.Kind == KvAuthChangeKind.Enable && reply.Detail == nameof(KvStatus.Ok))
        {
            _authEnabledAtMs ??= NowMs;
            Faults.AuthEnabled = 1;
        }
    }

    /// <summary>An acknowledged write: outside the grants of its user, begun once authentication was on, it is a violation.</summary>
    private void CheckAcknowledgedWrite(SimClient client, ClientRequest request)
    {
        if (_authEnabledAtMs is { } enabledAt && client.InvokeMs > enabledAt && request.User == LimitedUser && request.Kind != OperationKind.Get
            && !AllowedForLimited(request.Key))
        {
            _violations.Add($"client {client.Index}'s {request.Kind} of '{request.Key}' as '{LimitedUser}', begun at {client.InvokeMs} ms after authentication was on " +
                $"(acknowledged at {enabledAt} ms), was acknowledged although no role of the user grants it.");
        }
    }

    /// <summary>The user a watcher opens its watch as: in auth runs, root for watcher 1 and <see cref="LimitedUser"/> for the others until refused.</summary>
    private string? WatchUser(int index) => !Authenticating ? null : index == 1 ? KvAuth.RootUser : LimitedUser;

    /// <summary>Changes handed to a watch opened as <paramref name="user"/>: none may come from a write it may not read, begun once auth was on.</summary>
    private void CheckWatchDelivery(int index, string? user, IReadOnlyList<KvEvent> events)
    {
        if (user != LimitedUser || _valuesWrittenAfterEnable.Count == 0)
        {
            return;
        }

        foreach (var change in events)
        {
            var key = System.Text.Encoding.UTF8.GetString(change.Key);
            if (change.Entry is { } entry && !AllowedForLimited(key) && _valuesWrittenAfterEnable.Contains(System.Text.Encoding.UTF8.GetString(entry.Value.Span)))
            {
                _violations.Add($"at {NowMs} ms: watcher {index}, opened as '{LimitedUser}', was sent {key} at revision {change.Revision}, written after authentication was on (acknowledged at {_authEnabledAtMs} ms), though no role of the user lets it read {key}.");
                return;
            }
        }
    }

    /// <summary>A watch refused for want of permission: legitimate only for <see cref="LimitedUser"/>, whose client then watches as root.</summary>
    private void OnWatchDenied(SimWatcher watcher, string reason)
    {
        if (watcher.User != LimitedUser)
        {
            _violations.Add($"at {NowMs} ms: watcher {watcher.Index}, opened as '{watcher.User ?? "(no user)"}', was refused for want of permission: {reason}");
        }

        Faults.WatchesDenied++;
        watcher.Sink = null;
        watcher.User = KvAuth.RootUser;
        Schedule(NowMs + WatchResumeDelayMs, null, () => Resume(watcher));
    }
}
