using System.CommandLine;
using System.Text.Json;
using Synod.Chaos;

namespace Synod.Cli;

/// <summary>
/// `synod netns`: network namespaces joined by links with delay, jitter and loss (<see cref="TunSwitch"/>), held until
/// the command is stopped, for running replicas (of Synod, or of another store to compare) as if on separate hosts:
/// `bench/vs-etcd.sh --net netns --delay 1ms` starts one. Needs root, iproute2 and the tun driver.
/// </summary>
internal static class NetnsCommand
{
    /// <summary>The most namespaces one command makes.</summary>
    private const int NamespacesMax = 9;

    public static Command Create()
    {
        var count = new Option<int>("--replicas") { Description = $"Namespaces to make, one per replica id 1..N (at most {NamespacesMax}).", DefaultValueFactory = _ => 5 };
        var delay = new Option<string>("--delay") { Description = "How long each packet between two namespaces is held, one way: 0, or such as 0.5ms, 1ms, 10ms (a round trip is twice it).", DefaultValueFactory = _ => "0" };
        var jitter = new Option<string>("--jitter") { Description = "Up to this much more, drawn uniformly per packet (packets may then be reordered).", DefaultValueFactory = _ => "0" };
        var loss = new Option<double>("--loss") { Description = "Percent of the packets between two namespaces dropped at random, each way.", DefaultValueFactory = _ => 0 };
        var json = ClientCommands.JsonOption("{\"namespaces\": {ID: NAME}, \"addresses\": {ID: ADDRESS}, \"root_address\", \"links\"}");
        var command = new Command("netns",
            "Make network namespaces 1..N whose links delay and drop packets (in user space: this works without the netem qdisc), print their names and addresses, " +
            "and keep them until stopped (SIGINT or SIGTERM), then remove them. Run a process in one with: ip netns exec NAME COMMAND.")
        {
            count, delay, jitter, loss, json,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            var replicas = parse.GetValue(count);
            if (replicas is < 1 or > NamespacesMax)
            {
                Console.Error.WriteLine($"error: --replicas {replicas}: use 1 to {NamespacesMax}.");
                return ExitCodes.InvalidInput;
            }

            if (!TryDuration(parse.GetValue(delay)!, out var held) || !TryDuration(parse.GetValue(jitter)!, out var spread))
            {
                Console.Error.WriteLine($"error: --delay '{parse.GetValue(delay)}' / --jitter '{parse.GetValue(jitter)}': give 0 or a duration such as 0.5ms, 1ms, 10ms (at most 10 s).");
                return ExitCodes.InvalidInput;
            }

            var shape = new TunSwitch.LinkShape(held, spread, parse.GetValue(loss));
            if (shape.Problem() is { } problem)
            {
                Console.Error.WriteLine($"error: {problem}.");
                return ExitCodes.InvalidInput;
            }

            if (NetnsNetwork.Unavailable() is { } why)
            {
                Console.Error.WriteLine($"error: network namespaces cannot be made here: {why}; run as root with iproute2 and nftables.");
                return ExitCodes.Failure;
            }

            var ids = Enumerable.Range(1, replicas).ToList();
            NetnsNetwork network;
            try
            {
                network = NetnsNetwork.CreateShaped(ids, shape);
            }
            catch (InvalidOperationException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.Failure;
            }

            await using (network)
            {
                var root = network.Address(ids[0])[..network.Address(ids[0]).LastIndexOf('.')] + $".{NetnsNetwork.RootHost}";
                Console.WriteLine(parse.GetValue(json)
                    ? JsonSerializer.Serialize(new
                    {
                        namespaces = ids.ToDictionary(id => $"{id}", network.Namespace),
                        addresses = ids.ToDictionary(id => $"{id}", network.Address),
                        root_address = root,
                        links = network.Description,
                    })
                    : $"namespaces {string.Join(", ", ids.Select(id => $"{id}={network.Namespace(id)} ({network.Address(id)})"))}; this namespace is {root}; {network.Description}. Stop with Ctrl-C.");
                Console.Out.Flush();
                var stopped = new TaskCompletionSource();
                using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
                {
                    context.Cancel = true;
                    stopped.TrySetResult();
                });
                using var registration = cancellation.Register(() => stopped.TrySetResult());
                await stopped.Task;
                var (forwarded, lost, discarded) = network.SwitchCounts;
                Console.Error.WriteLine($"netns: removing the namespaces; {forwarded:N0} packets forwarded, {lost:N0} lost to --loss, {discarded:N0} discarded (no such address, or a full queue).");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static bool TryDuration(string text, out TimeSpan duration)
    {
        if (text.Trim() is "0" or "0ms" or "0s")
        {
            duration = TimeSpan.Zero;
            return true;
        }

        return DurationText.TryParse(text, TimeSpan.FromSeconds(10), out duration);
    }
}
