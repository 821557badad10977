using Synod.Storage;
namespace Synod.Simulation;

/// <summary>A held <see cref="SimulatedDisk.Lock"/>; disposing it after a crash does nothing (the crash released it).</summary>
internal sealed class SimulatedDiskLock(SimulatedDisk disk, string path, long generation) : IDisposable
{
    private bool _released;

    public void Dispose()
    {
        if (!_released && disk.Generation == generation)
        {
            disk.Unlock(path);
        }

        _released = true;
    }
}
