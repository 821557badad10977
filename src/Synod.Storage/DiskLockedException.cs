namespace Synod.Storage;

/// <summary>
/// <see cref="IDisk.Lock"/> found the path locked by another process, or already by this one; any other failure to
/// take the lock (a read-only file system, no permission) is another <see cref="IOException"/>.
/// </summary>
public sealed class DiskLockedException(string message, Exception? inner = null) : IOException(message, inner);
