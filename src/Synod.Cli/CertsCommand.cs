using System.CommandLine;
using System.Text.Json;
using Synod.Server;

namespace Synod.Cli;

/// <summary>
/// `synod certs`: a development CA and one certificate per replica, as PEM files for `synod serve --peer-cert
/// --peer-key --peer-ca`. Replicas accept only peers whose certificate this CA issued and which names them, so the CA
/// key (like each replica's key) is written readable by its owner only, and an existing one is never replaced unless
/// asked.
/// </summary>
public static class CertsCommand
{
    public static Command Create()
    {
        var outDir = new Option<string?>("--out") { Description = "Folder for ca.pem, ca-key.pem, replica-N.pem and replica-N-key.pem (created if missing)." };
        var replicas = new Option<int>("--replicas") { Description = "Make certificates for replicas 1..N.", DefaultValueFactory = _ => 5 };
        var add = new Option<int?>("--add")
        {
            Description = "Make a certificate for one more replica (one that joins: synod member add) with the CA already in --out, keeping everything else.",
        };
        var hosts = new Option<string?>("--hosts")
        {
            Description = "Extra host names or IP addresses to list in every replica certificate, comma-separated (localhost and 127.0.0.1 always are). Replicas check ids, not host names; other tools may check these.",
        };
        var cluster = new Option<string>("--cluster")
        {
            Description = "The cluster's name, written into every certificate; replicas accept only peers of their own cluster.",
            DefaultValueFactory = _ => PeerCertificates.DefaultCluster,
        };
        var client = new Option<string?>("--client")
        {
            Description = "Make a client certificate client-NAME.pem (and its key) with the CA already in --out, for clients of replicas that require one (serve --tls-client-ca).",
        };
        var force = new Option<bool>("--force") { Description = "Replace an existing CA key in --out (every certificate it signed stops being accepted)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object naming the files instead of the summary." };
        var command = new Command("certs", "Make a development CA and a certificate per replica for authenticated peer connections.")
        {
            outDir, replicas, add, hosts, cluster, force, json, client,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(client) is { } clientName)
            {
                if (parse.GetValue(outDir) is not { Length: > 0 } folder)
                {
                    Console.Error.WriteLine("error: --client needs --out DIR, the folder that holds the CA (ca.pem, ca-key.pem).");
                    return ExitCodes.InvalidInput;
                }

                try
                {
                    var (certificate, key) = PeerCertificates.WriteClient(folder, clientName);
                    Console.WriteLine(parse.GetValue(json)
                        ? JsonSerializer.Serialize(new Dictionary<string, string> { ["certificate"] = certificate, ["key"] = key })
                        : $"Made {certificate} and {Path.GetFileName(key)} for client {clientName}: give them as --cert and --key");
                    return ExitCodes.Ok;
                }
                catch (ArgumentException e)
                {
                    Console.Error.WriteLine($"error: {e.Message}");
                    return ExitCodes.InvalidInput;
                }
            }

            if (parse.GetValue(add) is int joining && parse.GetValue(outDir) is { Length: > 0 } existing)
            {
                if (joining < 1 || joining > Core.Configuration.ReplicaIdMax || !File.Exists(Path.Combine(existing, "ca-key.pem")))
                {
                    Console.Error.WriteLine($"error: --add {joining}: give a replica id in 1..{Core.Configuration.ReplicaIdMax} and an --out that holds the cluster's ca.pem and ca-key.pem.");
                    return ExitCodes.InvalidInput;
                }

                var made = PeerCertificates.EnsureDevelopmentSet(existing, parse.GetValue(cluster)!, [joining]);
                Console.WriteLine(parse.GetValue(json)
                    ? System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["certificate"] = made.Certificate(joining), ["key"] = made.Key(joining), ["ca"] = made.Authority })
                    : $"Made {made.Certificate(joining)} and {Path.GetFileName(made.Key(joining))} for replica {joining}, signed by {made.Authority}");
                return ExitCodes.Ok;
            }

            var count = parse.GetValue(replicas);
            if (parse.GetValue(outDir) is not { Length: > 0 } directory)
            {
                Console.Error.WriteLine("error: say where to write the certificates: --out DIR.");
                return ExitCodes.InvalidInput;
            }

            if (count < 1 || count > Core.ReplicaOptions.ReplicasMax)
            {
                Console.Error.WriteLine($"error: --replicas {count}: make certificates for 1 to {Core.ReplicaOptions.ReplicasMax} replicas.");
                return ExitCodes.InvalidInput;
            }

            var hostList = (parse.GetValue(hosts) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var name = parse.GetValue(cluster)!;
            PeerCertificateFiles files;
            try
            {
                files = PeerCertificates.WriteDevelopmentSet(directory, name, [.. Enumerable.Range(1, count)], hostList, parse.GetValue(force));
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: cannot write the certificates into {Path.GetFullPath(directory)}: {e.Message}");
                return ExitCodes.Failure;
            }

            Console.Write(parse.GetValue(json) ? Json(files, name, count) : Summary(files, name, count));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Summary(PeerCertificateFiles files, string cluster, int count)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine($"Made a development CA and certificates for replicas 1..{count} of cluster '{cluster}' in {files.Directory}");
        text.AppendLine($"  {Path.GetFileName(files.Authority)}, {Path.GetFileName(files.AuthorityKey)}   the CA; keep its key private: whoever holds it can speak as any replica");
        for (var id = 1; id <= count; id++)
        {
            text.AppendLine($"  {Path.GetFileName(files.Certificate(id))}, {Path.GetFileName(files.Key(id))}");
        }

        text.AppendLine($"Start replica N with: ./synod serve --id N ... --peer-cert {files.Certificate(1).Replace("replica-1", "replica-N", StringComparison.Ordinal)} " +
            $"--peer-key {files.Key(1).Replace("replica-1", "replica-N", StringComparison.Ordinal)} --peer-ca {files.Authority}");
        return text.ToString();
    }

    private static string Json(PeerCertificateFiles files, string cluster, int count) => JsonSerializer.Serialize(new
    {
        cluster,
        directory = files.Directory,
        ca = files.Authority,
        caKey = files.AuthorityKey,
        replicas = Enumerable.Range(1, count).Select(id => new { id, cert = files.Certificate(id), key = files.Key(id) }),
    }) + Environment.NewLine;
}
