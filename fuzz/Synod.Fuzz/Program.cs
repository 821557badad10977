using SharpFuzz;

namespace Synod.Fuzz;

/// <summary>
/// `synod-fuzz TARGET` under afl-fuzz: SharpFuzz's fork server feeds each input (on standard input) to the target's
/// decoder, and any exception but the target's refusal is reported to AFL as a crash. fuzz/run.sh builds, instruments
/// and runs it; fuzz/README.md says how.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: synod-fuzz TARGET              run TARGET under afl-fuzz (input on standard input; outside AFL, once)
               synod-fuzz check TARGET FILE...  run TARGET's decoder on each FILE and print what it did
               synod-fuzz seeds DIR             write the seed inputs of every target to DIR/TARGET/
               synod-fuzz list                  print the targets
        """;

    public static int Main(string[] args) => args switch
    {
        ["list"] => List(),
        ["seeds", var directory] => WriteSeeds(directory),
        ["check", var name, .. var files] when files.Length > 0 => WithTarget(name, target => Check.Files(target, files)),
        [var name] => WithTarget(name, Fuzz),
        _ => Fail(Usage),
    };

    /// <summary>
    /// The out-of-process fork server survives what an in-process loop cannot (a StackOverflowException, a hang) by
    /// restarting the child; SYNOD_FUZZ_IN_PROCESS=1 picks the in-process one instead. SYNOD_FUZZ_SELF_TEST=1 lets even
    /// the allowed refusal escape, so that AFL saves crashes within seconds: a check that escaped exceptions reach it.
    /// </summary>
    private static int Fuzz(FuzzTarget target)
    {
        Action<Stream> run = Environment.GetEnvironmentVariable("SYNOD_FUZZ_SELF_TEST") == "1"
            ? stream => target.Decode(ReadAll(stream))
            : stream => target.Run(ReadAll(stream));
        if (Environment.GetEnvironmentVariable("SYNOD_FUZZ_IN_PROCESS") == "1")
        {
            Fuzzer.Run(run);
        }
        else
        {
            Fuzzer.OutOfProcess.Run(run);
        }

        return 0;
    }

    private static int List()
    {
        foreach (var target in Targets.All)
        {
            Console.WriteLine($"{target.Name}\t(may throw {string.Join(" or ", target.Allowed.Select(type => type.Name))})");
        }

        return 0;
    }

    private static int WriteSeeds(string directory)
    {
        foreach (var target in Targets.All)
        {
            var folder = Directory.CreateDirectory(Path.Combine(directory, target.Name));
            var seeds = target.Seeds();
            for (var i = 0; i < seeds.Count; i++)
            {
                File.WriteAllBytes(Path.Combine(folder.FullName, $"seed-{i:d2}"), seeds[i]);
            }

            Console.WriteLine($"{target.Name}: {seeds.Count} seeds in {folder.FullName}");
        }

        return 0;
    }

    private static int WithTarget(string name, Func<FuzzTarget, int> action) =>
        Targets.Find(name) is { } target ? action(target) : Fail($"no target '{name}'; the targets: {string.Join(", ", Targets.All.Select(t => t.Name))}");

    private static byte[] ReadAll(Stream stream)
    {
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }
}
