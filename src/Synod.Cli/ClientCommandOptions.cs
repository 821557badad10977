using System.CommandLine;

namespace Synod.Cli;

/// <summary>
/// The options every client command shares: where the cluster is and how long to try. Each command gets its own
/// instances, because a symbol belongs to the command it is added to.
/// </summary>
internal sealed class ClientCommandOptions
{
    public const string DataDirDefault = "./synod-data";

    public Option<string?> Endpoints { get; } = new("--endpoints")
    {
        Description = "The replicas as HOST:PORT,HOST:PORT,...; replica id N is the Nth. Overrides DATA_DIR/cluster.json.",
    };

    public Option<string> DataDir { get; } = new("--data-dir")
    {
        Description = "The directory whose cluster.json (written by `synod cluster`) lists the replicas; without it, 127.0.0.1:7001..7005.",
        DefaultValueFactory = _ => DataDirDefault,
    };

    /// <summary>Parsed by the command, not the parser, so that a bad value gets the same one-line error and exit code as other bad input.</summary>
    public Option<string?> Node { get; } = new("--node")
    {
        Description = "Contact only the replica with this id: no failover, and exit 5 if it is down.",
    };

    public Option<string?> Timeout { get; } = new("--timeout")
    {
        Description = $"Give up after this long, retries and failovers included: seconds, or 500ms, 10s, 1m (default {ClientCommandContext.TimeoutSecondsDefault} s).",
    };

    public Option<string?> CaCert { get; } = new("--cacert")
    {
        Description = "Talk to the replicas over TLS, trusting this CA (PEM) for their certificates (default: DATA_DIR/cluster.json's, for `synod cluster --tls`).",
    };

    public Option<string?> Cert { get; } = new("--cert") { Description = "Show this client certificate (PEM) to replicas that ask for one (serve --tls-client-ca); implies TLS." };

    public Option<string?> Key { get; } = new("--key") { Description = "The private key of --cert (PEM)." };

    public Option<string?> User { get; } = new("--user")
    {
        Description = "Sign in as NAME[:PASSWORD] where authentication is on (the password is asked for when missing and stdin is a terminal).",
    };

    public Option<string?> PasswordFile { get; } = new("--password-file")
    {
        Description = "Read --user's password from the first line of this file, so that it shows in no process list or shell history.",
    };

    /// <summary>Adds the options to <paramref name="command"/>; <paramref name="withNode"/> and <paramref name="withTimeout"/> for the data commands only.</summary>
    public void AddTo(Command command, bool withNode, bool withTimeout)
    {
        command.Add(Endpoints);
        command.Add(DataDir);
        command.Add(CaCert);
        command.Add(Cert);
        command.Add(Key);
        command.Add(User);
        command.Add(PasswordFile);
        if (withNode)
        {
            command.Add(Node);
        }

        if (withTimeout)
        {
            command.Add(Timeout);
        }
    }
}
