using Synod.Core;
using Synod.Simulation;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>Shorthands for opening storage in tests.</summary>
internal static class Stores
{
    /// <summary>The data directory on a simulated disk.</summary>
    public const string SimDirectory = "/data/replica-1";

    /// <summary>Segments that roll every few dozen records.</summary>
    public static StorageOptions SmallSegments => new() { SegmentBytesMax = StorageOptions.SegmentBytesMin, RecordBytesMax = StorageOptions.RecordBytesMin };

    public static SimulatedDisk NewSimDisk(ulong seed = 1) => new(new SeededRandom(seed));

    public static ReplicaStorage Open(IDisk disk, string directory, StorageOpenMode mode = StorageOpenMode.Existing, StorageOptions? options = null, List<string>? log = null, int replicaId = 1) =>
        ReplicaStorage.Open(disk, directory, replicaId, mode, options ?? new StorageOptions(), line => log?.Add(line));

    /// <summary>Writes, makes durable and compacts the pending snapshot, as the server does on the thread pool.</summary>
    public static void RunPendingSnapshot(ReplicaStorage storage)
    {
        var write = storage.TakePendingSnapshot() ?? throw new InvalidOperationException("No snapshot was pending.");
        write.Run();
        storage.CompleteSnapshot(write);
        RunCleanup(storage);
    }

    /// <summary>Syncs the checkpoint a compaction wrote and deletes the files it superseded, as a host does.</summary>
    public static void RunCleanup(ReplicaStorage storage)
    {
        storage.Sync();
        if (storage.TakeCleanup() is { } cleanup)
        {
            cleanup.Run();
            storage.CompleteCleanup(cleanup);
        }
    }
}
