using System.CommandLine;
using Synod.Bench;
using Synod.Storage;

namespace Synod.Cli;

/// <summary>
/// `synod bench-wal`: how many durable WAL appends per second this machine's disk allows, raw and through
/// <see cref="ReplicaStorage"/> with group commit (<see cref="WalBenchmark"/>). It writes into a fresh directory of
/// its own and deletes it afterwards.
/// </summary>
public static class BenchWalCommand
{
    private const double SecondsMin = 0.1;
    private const double SecondsMax = 60;

    public static Command Create()
    {
        var dir = new Option<string?>("--dir") { Description = "Where to write: a fresh subdirectory is made there and deleted afterwards (default: the system temp directory). Put it on the disk the replicas use." };
        var seconds = new Option<double>("--seconds") { Description = "Time limit of each row of the table, in seconds.", DefaultValueFactory = _ => 3 };
        var command = new Command("bench-wal", "Measure the disk's fsync rate and the WAL's durable appends per second (group commit, batches of 1 to 256 records).")
        {
            dir, seconds,
        };
        command.SetAction(parse =>
        {
            var rowSeconds = parse.GetValue(seconds);
            if (rowSeconds < SecondsMin || rowSeconds > SecondsMax)
            {
                Console.Error.WriteLine($"error: --seconds {rowSeconds}: use a value from {SecondsMin} to {SecondsMax} (each of the five rows runs that long at most).");
                return ExitCodes.InvalidInput;
            }

            var parent = Path.GetFullPath(parse.GetValue(dir) ?? Path.GetTempPath());
            var directory = Path.Combine(parent, $"synod-bench-wal-{Guid.NewGuid():N}");
            try
            {
                WalBenchmark.Run(directory, Console.Out, TimeSpan.FromSeconds(rowSeconds));
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or StorageException)
            {
                Console.Error.WriteLine($"error: the WAL benchmark in {directory} failed: {e.Message}");
                return ExitCodes.Failure;
            }
            finally
            {
                DeleteQuietly(directory);
            }
        });
        return command;
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"warning: could not delete the benchmark directory {directory}: {e.Message}");
        }
    }
}
