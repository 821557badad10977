namespace Synod.Client;

/// <summary>
/// How a <see cref="SynodClient"/> reaches the cluster and how long it keeps trying. Checked once by
/// <see cref="Validate"/> when the client is built, so a bad setting fails at start with a sentence naming it.
/// </summary>
public sealed record SynodClientOptions
{
    /// <summary>The most endpoints one client may list; a Paxos cluster of more replicas would be unusual.</summary>
    public const int EndpointsMax = 64;

    public static readonly TimeSpan AttemptTimeoutDefault = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan OperationTimeoutDefault = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan RetryBackoffDefault = TimeSpan.FromMilliseconds(50);
    public static readonly TimeSpan RetryBackoffMaxDefault = TimeSpan.FromSeconds(1);

    /// <summary>No operation may wait longer than this; a longer wait is almost certainly a unit mistake.</summary>
    public static readonly TimeSpan OperationTimeoutMax = TimeSpan.FromHours(1);

    /// <summary>The replicas, each "host:port" (an IPv6 host in brackets: "[::1]:7001"); any replica serves any call.</summary>
    public required IReadOnlyList<string> Endpoints { get; init; }

    /// <summary>How long one gRPC attempt against one replica may take before the client tries the next.</summary>
    public TimeSpan AttemptTimeout { get; init; } = AttemptTimeoutDefault;

    /// <summary>TLS to the replicas (they serve with `--tls-cert`); null: plaintext HTTP/2.</summary>
    public SynodClientTls? Tls { get; init; }

    /// <summary>The total deadline of one operation across all its retries and failovers.</summary>
    public TimeSpan OperationTimeout { get; init; } = OperationTimeoutDefault;

    /// <summary>
    /// A watch that hears nothing from its replica for this long (no change and no progress notification, which a
    /// replica sends an idle watcher every serve --watch-progress-interval while it hears a leader) moves to another
    /// replica, from the revision after the last one reported. Keep it above the replicas' progress interval (10 s).
    /// </summary>
    public TimeSpan WatchSilenceTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The pause before the first retry; each further retry doubles it up to <see cref="RetryBackoffMax"/>.</summary>
    public TimeSpan RetryBackoff { get; init; } = RetryBackoffDefault;

    /// <summary>The longest pause between two retries.</summary>
    public TimeSpan RetryBackoffMax { get; init; } = RetryBackoffMaxDefault;

    /// <summary>
    /// The user to sign in as when the cluster has authentication on (null: none, or a client certificate's name). The
    /// client signs in with <see cref="Password"/> at its first call and again before the token expires; against a
    /// cluster with authentication off it sends no token.
    /// </summary>
    public string? User { get; init; }

    /// <summary>The password of <see cref="User"/>.</summary>
    public string? Password { get; init; }

    /// <summary>The longest user name and password, in UTF-8 bytes (the replicas' limits).</summary>
    public const int UserBytesMax = 128;
    public const int PasswordBytesMax = 1_024;

    /// <summary>Throws <see cref="ArgumentException"/> with a sentence naming the first bad setting and why it is bad.</summary>
    public void Validate()
    {
        ValidateEndpoints();
        if (AttemptTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"AttemptTimeout is {AttemptTimeout}; it must be positive, or no attempt could ever finish.");
        }

        if (OperationTimeout <= TimeSpan.Zero || OperationTimeout > OperationTimeoutMax)
        {
            throw new ArgumentException(
                $"OperationTimeout is {OperationTimeout}; it must be positive and at most {OperationTimeoutMax} (OperationTimeoutMax).");
        }

        if (AttemptTimeout > OperationTimeout)
        {
            throw new ArgumentException(
                $"AttemptTimeout ({AttemptTimeout}) is longer than OperationTimeout ({OperationTimeout}); one attempt cannot outlast the whole operation.");
        }

        if (WatchSilenceTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"WatchSilenceTimeout is {WatchSilenceTimeout}; it must be positive (and above the replicas' watch progress interval).");
        }

        if (RetryBackoff <= TimeSpan.Zero)
        {
            throw new ArgumentException($"RetryBackoff is {RetryBackoff}; it must be positive so that retries do not spin.");
        }

        if (User is not null && (User.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(User) > UserBytesMax || User.Any(char.IsControl)))
        {
            throw new ArgumentException($"User '{User}' must be 1 to {UserBytesMax} bytes of UTF-8 without control characters.");
        }

        if ((Password is not null) && (User is null || System.Text.Encoding.UTF8.GetByteCount(Password) > PasswordBytesMax))
        {
            throw new ArgumentException(User is null ? "Password is given without a User." : $"Password is over {PasswordBytesMax} bytes.");
        }

        if (RetryBackoffMax < RetryBackoff)
        {
            throw new ArgumentException(
                $"RetryBackoffMax ({RetryBackoffMax}) is below RetryBackoff ({RetryBackoff}); the cap must be at least the first pause.");
        }
    }

    private void ValidateEndpoints()
    {
        if (Endpoints is null || Endpoints.Count == 0)
        {
            throw new ArgumentException("Endpoints is empty; list at least one replica as host:port, for example 127.0.0.1:7001.");
        }

        if (Endpoints.Count > EndpointsMax)
        {
            throw new ArgumentException($"Endpoints lists {Endpoints.Count} replicas, over EndpointsMax ({EndpointsMax}).");
        }

        foreach (var endpoint in Endpoints)
        {
            if (!EndpointAddress.TryParse(endpoint, out _, out var problem))
            {
                throw new ArgumentException($"Endpoints: {problem}");
            }
        }

        if (Endpoints.Distinct(StringComparer.OrdinalIgnoreCase).Count() != Endpoints.Count)
        {
            throw new ArgumentException("Endpoints lists a replica twice; list each replica once.");
        }
    }
}
