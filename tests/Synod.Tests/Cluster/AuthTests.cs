using Synod.Cli;
using Synod.Client;
using Synod.Protocol;
using Synod.Server;
using Xunit.Abstractions;

namespace Synod.Tests.Cluster;

/// <summary>
/// Users, roles and permissions as a user meets them (issue 18, item 3): the auth, user and role commands, exit 8 with one
/// line naming the user, the operation and the key, passwords, client certificates as users, tokens that expire, and
/// every replica answering alike because the check is made in the log.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class AuthTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task With_auth_on_a_user_reads_and_writes_only_inside_its_roles_and_everything_else_exits_8_naming_user_operation_and_key()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);
        var at = new[] { "--endpoints", string.Join(",", cluster.EndpointList) };
        async Task<(int ExitCode, string Stdout, string Stderr)> Run(params string[] args)
        {
            var run = await CliExitCodeTests.RunAsync([.. args, .. at]);
            output.WriteLine($"synod {string.Join(" ", args)} -> {run.ExitCode} {run.Stdout.Trim()} {run.Stderr.Trim()}");
            return run;
        }

        async Task Ok(params string[] args) => Assert.Equal(ExitCodes.Ok, (await Run(args)).ExitCode);

        // Turning it on without a root user is refused, so no one is locked out.
        AssertFailure(await Run("auth", "enable"), ExitCodes.InvalidInput, "user named root");
        await Ok("put", "config", "v1");
        await Ok("user", "add", "root", "--password", "rootpw");
        await Ok("user", "add", "alice", "--password", "alicepw");
        await Ok("role", "add", "app");
        await Ok("role", "grant", "app", "readwrite", "app/", "--prefix");
        await Ok("role", "grant", "app", "read", "config");
        await Ok("user", "grant-role", "alice", "app");

        // A watch opened before authentication is on, by no user: it ends with permission denied once it is on.
        using var watchLimit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var anonymous = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        var anonymousWatch = await WatchedAsync(anonymous, "app/", cluster, writeAsRoot: false, watchLimit.Token);
        await Ok("auth", "enable");
        Assert.Contains("names no user", (await anonymousWatch).Message, StringComparison.Ordinal);

        AssertFailure(await Run("put", "app/x", "1"), ExitCodes.PermissionDenied, "names no user");
        await Ok("put", "app/x", "1", "--user", "alice:alicepw");
        Assert.Equal("v1", (await Run("get", "config", "--user", "alice:alicepw")).Stdout.Trim());
        Assert.Equal("app/x\n1", (await Run("range", "--prefix", "app/x", "--user", "alice:alicepw")).Stdout.Trim());

        // Outside its grants, at every replica alike: the write is judged in the log, the read once answered.
        foreach (var node in new[] { "1", "2", "3" })
        {
            AssertFailure(await Run("put", "config", "v2", "--user", "alice:alicepw", "--node", node), ExitCodes.PermissionDenied, "user 'alice' may not write key 'config'");
        }

        AssertFailure(await Run("get", "secret", "--user", "alice:alicepw"), ExitCodes.PermissionDenied, "user 'alice' may not read key 'secret'");
        AssertFailure(await Run("range", "--prefix", "", "--user", "alice:alicepw"), ExitCodes.PermissionDenied, "every key");
        AssertFailure(await Run("watch", "--prefix", "other/", "--user", "alice:alicepw"), ExitCodes.PermissionDenied, "user 'alice' may not read");
        AssertFailure(await Run("put", "app/y", "1", "--user", "alice:wrong"), ExitCodes.PermissionDenied, "password is wrong");
        AssertFailure(await Run("user", "add", "mallory", "--password", "x", "--user", "alice:alicepw"), ExitCodes.PermissionDenied, "only a user with the root role");
        AssertFailure(await Run("auth", "disable", "--user", "alice:alicepw"), ExitCodes.PermissionDenied, "only a user with the root role");
        AssertFailure(await Run("user", "list", "--user", "alice:alicepw"), ExitCodes.PermissionDenied, "root");
        Assert.Equal("alice\nroot", (await Run("user", "list", "--user", "root:rootpw")).Stdout.Trim());
        Assert.Contains("readwrite prefix app/", (await Run("role", "get", "app", "--user", "root:rootpw")).Stdout, StringComparison.Ordinal);

        // A revoke takes effect for every later write, and ends a watch it no longer allows; a new password retires the old one.
        await using var aliceClient = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, User = "alice", Password = "alicepw" });
        var aliceWatch = await WatchedAsync(aliceClient, "app/", cluster, writeAsRoot: true, watchLimit.Token);
        await Ok("role", "revoke", "app", "app/", "--prefix", "--user", "root:rootpw");
        Assert.Contains("user 'alice' may not read the range ['app/', 'app0')", (await aliceWatch).Message, StringComparison.Ordinal);

        // A new token key: alice's client, whose token the replicas no longer accept, signs in again by itself.
        AssertFailure(await Run("auth", "rotate-token-key", "--user", "alice:alicepw"), ExitCodes.PermissionDenied, "only a user with the root role");
        Assert.Equal("Token key rotated", (await Run("auth", "rotate-token-key", "--user", "root:rootpw")).Stdout.Trim());
        Assert.Equal("v1", (await aliceClient.GetAsync("config")).ValueAsString());
        AssertFailure(await Run("put", "app/x", "2", "--user", "alice:alicepw"), ExitCodes.PermissionDenied, "user 'alice' may not write key 'app/x'");

        // A watch lives no longer than the password it was signed in with, though its user may still read the range.
        await Ok("role", "grant", "app", "readwrite", "app/", "--prefix", "--user", "root:rootpw");
        var signedInWatch = await WatchedAsync(aliceClient, "app/", cluster, writeAsRoot: true, watchLimit.Token);
        await Ok("user", "passwd", "alice", "--password", "newpw", "--user", "root:rootpw");
        await Ok("put", "app/after-passwd", "1", "--user", "root:rootpw");
        Assert.Contains("password changed", (await signedInWatch).Message, StringComparison.Ordinal);
        AssertFailure(await Run("get", "config", "--user", "alice:alicepw"), ExitCodes.PermissionDenied, "password is wrong");
        await Ok("get", "config", "--user", "alice:newpw");

        // The password from a file, so it shows in no process list; a missing file or a password given twice is bad input.
        var passwordFile = Path.Combine(Path.GetTempPath(), $"synod-password-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(passwordFile, "newpw\n");
        try
        {
            Assert.Equal("v1", (await Run("get", "config", "--user", "alice", "--password-file", passwordFile)).Stdout.Trim());
            AssertFailure(await Run("get", "config", "--user", "alice:newpw", "--password-file", passwordFile), ExitCodes.InvalidInput, "give one of them");
            AssertFailure(await Run("get", "config", "--user", "alice", "--password-file", passwordFile + ".missing"), ExitCodes.InvalidInput, "no such file");
        }
        finally
        {
            File.Delete(passwordFile);
        }

        // Root cannot lock itself out; turning auth off opens everything again.
        AssertFailure(await Run("user", "delete", "root", "--user", "root:rootpw"), ExitCodes.InvalidInput, "turn authentication off first");
        AssertFailure(await Run("user", "delete", "nobody", "--user", "root:rootpw"), ExitCodes.NotFound, "user 'nobody' does not exist");
        Assert.Equal("Authentication Status: true\nUser: alice", (await Run("auth", "status", "--user", "alice:newpw")).Stdout.Trim());
        await Ok("auth", "disable", "--user", "root:rootpw");
        await Ok("put", "app/x", "3");
        Assert.Equal("Authentication Status: false", (await Run("auth", "status")).Stdout.Trim());
    }

    [Fact]
    public async Task A_client_certificate_names_its_user_and_a_client_signed_in_by_password_keeps_working_across_token_expiry()
    {
        // Tokens last 2 s here, so the client must sign in again during the test.
        await using var cluster = new ReplicaProcesses(3, ClientTlsMode.Mutual, "--auth-token-ttl", "2s");
        await cluster.WaitForLeaderAsync(StartupLimit);
        var (aliceCertificate, aliceKey) = PeerCertificates.WriteClient(cluster.Certificates.Directory, "alice");
        var (rootCertificate, rootKey) = PeerCertificates.WriteClient(cluster.Certificates.Directory, "admin-tool");
        SynodClientOptions Options(string certificate, string key, string? user = null, string? password = null) => new()
        {
            Endpoints = cluster.EndpointList,
            OperationTimeout = TimeSpan.FromSeconds(20),
            Tls = SynodClientTls.FromPemFiles(cluster.Certificates.Authority, certificate, key),
            User = user,
            Password = password,
        };

        await using (var setup = new SynodClient(Options(rootCertificate, rootKey)))
        {
            await setup.ChangeAuthAsync(AuthChangeKind.UserAdd, "root", password: "rootpw");

            // A name or a lease id taken already: a distinct exception, so a caller can pick another without parsing text.
            await Assert.ThrowsAsync<SynodAlreadyExistsException>(() => setup.ChangeAuthAsync(AuthChangeKind.UserAdd, "root", password: "other"));
            await setup.GrantLeaseAsync(60, id: 77);
            await Assert.ThrowsAsync<SynodAlreadyExistsException>(() => setup.GrantLeaseAsync(60, id: 77));
            await setup.ChangeAuthAsync(AuthChangeKind.UserAdd, "alice", noPassword: true);
            await setup.ChangeAuthAsync(AuthChangeKind.RoleAdd, role: "app");
            await setup.ChangeAuthAsync(AuthChangeKind.RoleGrant, role: "app", permission: new Permission
            {
                Kind = PermissionKind.Readwrite,
                From = Google.Protobuf.ByteString.CopyFromUtf8("app/"),
                To = Google.Protobuf.ByteString.CopyFromUtf8("app0"),
            });
            await setup.ChangeAuthAsync(AuthChangeKind.UserGrantRole, "alice", "app");
            await setup.ChangeAuthAsync(AuthChangeKind.AuthEnable);
        }

        // alice by her certificate alone: inside her prefix, and refused outside it, watch included.
        await using (var alice = new SynodClient(Options(aliceCertificate, aliceKey)))
        {
            await alice.PutAsync("app/1", "a");
            var denied = await Assert.ThrowsAsync<SynodPermissionDeniedException>(() => alice.PutAsync("other", "b"));
            Assert.Contains("user 'alice' may not write key 'other'", denied.Message, StringComparison.Ordinal);
            var watchDenied = await Assert.ThrowsAsync<SynodPermissionDeniedException>(async () =>
            {
                await foreach (var change in alice.WatchPrefixAsync("other/"))
                {
                    Assert.Fail($"no change outside alice's grant may be reported: {change}");
                }
            });
            Assert.Contains("may not read", watchDenied.Message, StringComparison.Ordinal);
            Assert.Equal("alice", (await alice.AuthStatusAsync()).User);
        }

        // root by password, with a token that expires every 2 s: the client signs in again on its own.
        await using var root = new SynodClient(Options(rootCertificate, rootKey, "root", "rootpw"));
        for (var i = 0; i < 4; i++)
        {
            await root.PutAsync($"anywhere/{i}", "x");
            await Task.Delay(TimeSpan.FromSeconds(1.5));
        }

        Assert.Equal("root", (await root.AuthStatusAsync()).User);
        Assert.Equal(4, (await root.RangeAsync(SynodRange.Prefix("anywhere/"))).Kvs.Count);
    }

    [Fact]
    public async Task A_sign_in_refused_by_a_replica_that_does_not_know_the_user_is_asked_again_at_the_others()
    {
        // Two one-replica clusters stand for two replicas of one: "behind" has not applied bob's addition (it knows only
        // root), "ahead" has. A client whose first endpoint is "behind" must still sign in, and an unknown user must be
        // refused by both.
        await using var behind = new ReplicaProcesses(1);
        await using var ahead = new ReplicaProcesses(1);
        await Task.WhenAll(behind.WaitForLeaderAsync(StartupLimit), ahead.WaitForLeaderAsync(StartupLimit));
        foreach (var (cluster, users) in new[] { (behind, new[] { "root" }), (ahead, new[] { "root", "bob" }) })
        {
            await using var setup = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
            foreach (var user in users)
            {
                await setup.ChangeAuthAsync(AuthChangeKind.UserAdd, user, password: $"{user}pw");
            }

            await setup.ChangeAuthAsync(AuthChangeKind.AuthEnable);
        }

        SynodClientOptions Options(string user) => new()
        {
            Endpoints = [.. behind.EndpointList, .. ahead.EndpointList],
            OperationTimeout = TimeSpan.FromSeconds(20),
            User = user,
            Password = $"{user}pw",
        };

        await using (var bob = new SynodClient(Options("bob")))
        {
            Assert.Equal("bob", (await bob.AuthStatusAsync()).User);
        }

        await using var carol = new SynodClient(Options("carol"));
        var refused = await Assert.ThrowsAsync<SynodPermissionDeniedException>(() => carol.AuthStatusAsync());
        Assert.Contains("refused by 2 replicas", refused.Message, StringComparison.Ordinal);

        // Refused by one while the one that knows bob is down is not refused for good: once it is back, bob signs in.
        ahead.Kill(1);
        await using var patient = new SynodClient(Options("bob") with { OperationTimeout = TimeSpan.FromSeconds(60) });
        var signIn = patient.AuthStatusAsync();
        await Task.WhenAny(signIn, Task.Delay(TimeSpan.FromSeconds(1)));
        ahead.Start(1);
        Assert.Equal("bob", (await signIn).User);
    }

    /// <summary>
    /// Opens a watch of <paramref name="prefix"/> and waits until it reports a change (puts as root, or as no user while
    /// authentication is off), so it is known to be open; the task returned ends with the refusal that must end it.
    /// </summary>
    private static async Task<Task<SynodPermissionDeniedException>> WatchedAsync(SynodClient client, string prefix, ReplicaProcesses cluster, bool writeAsRoot, CancellationToken cancellationToken)
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Assert.ThrowsAsync<SynodPermissionDeniedException>(async () =>
        {
            await foreach (var change in client.WatchPrefixAsync(prefix, cancellationToken: cancellationToken))
            {
                open.TrySetResult();
            }
        });
        var marker = $"{prefix}open-{Guid.NewGuid():N}";
        await using var writer = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, User = writeAsRoot ? "root" : null, Password = writeAsRoot ? "rootpw" : null });
        while (!open.Task.IsCompleted && !watch.IsCompleted)
        {
            await writer.PutAsync(marker, "1", cancellationToken: cancellationToken);
            await Task.WhenAny(open.Task, watch, Task.Delay(200, cancellationToken));
        }

        Assert.False(watch.IsCompleted, "the watch ended before it was known open");
        return watch;
    }

    private static void AssertFailure((int ExitCode, string Stdout, string Stderr) run, int exitCode, string mentions) =>
        CliExitCodeTests.AssertFailure(run, exitCode, mentions);
}
