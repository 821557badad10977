using System.CommandLine;
using System.Globalization;
using Synod.Bench;
using Synod.Server;

namespace Synod.Cli.Bench;

/// <summary>`synod bench-echo`: the gRPC ceiling server that `synod bench --target echo` measures.</summary>
public static class BenchEchoCommand
{
    public const int PortDefault = 7100;

    public static Command Create()
    {
        var listen = new Option<string>("--listen")
        {
            Description = "Address to serve on.",
            DefaultValueFactory = _ => "127.0.0.1:" + PortDefault.ToString(CultureInfo.InvariantCulture),
        };
        var command = new Command("bench-echo", "Serve Synod's client API from memory (no consensus, no disk): the gRPC ceiling for `synod bench --target echo`.")
        {
            listen,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            var endpoint = parse.GetValue(listen)!;
            try
            {
                await EchoServer.RunAsync(endpoint, Console.WriteLine, cancellation);
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is ArgumentException or IOException or FormatException)
            {
                Console.Error.WriteLine($"error: cannot serve on {endpoint}: {e.Message}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }
}
