using System.Diagnostics;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// Issue 12: a data directory that cannot be written is reported as such, not as "in use by another replica"; a
/// directory that another replica holds still says so. Both on the real disk.
/// </summary>
public sealed class DataDirectoryAccessTests
{
    [Fact]
    public void A_directory_held_by_another_replica_is_reported_in_use()
    {
        using var directory = new TempDirectory();
        using var first = Stores.Open(new RealDisk(), directory.Path, StorageOpenMode.NewCluster);

        var error = Assert.Throws<StorageException>(() => Stores.Open(new RealDisk(), directory.Path, StorageOpenMode.Existing));

        Assert.Contains("in use by another replica", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_only_directory_is_reported_not_writable_and_not_in_use()
    {
        using var parent = new TempDirectory();
        var directory = Path.Combine(parent.Path, "data");
        Directory.CreateDirectory(directory);
        using var readOnly = ReadOnlyDirectory.Make(directory);

        var error = Assert.Throws<StorageException>(() => Stores.Open(new RealDisk(), directory, StorageOpenMode.NewCluster));

        Assert.Contains("is not writable", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("in use", error.Message, StringComparison.Ordinal);
        Assert.Contains("--data-dir", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Makes a directory read-only for this process: a read-only tmpfs mounted over it when running as root (root
    /// ignores permission bits), otherwise mode 0555. Undone on dispose.
    /// </summary>
    private sealed class ReadOnlyDirectory(string path, bool mounted) : IDisposable
    {
        public static ReadOnlyDirectory Make(string path)
        {
            if (!OperatingSystem.IsLinux())
            {
                throw new PlatformNotSupportedException("read-only directories are made with Linux's tools.");
            }

            if (Environment.UserName != "root")
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                return new ReadOnlyDirectory(path, mounted: false);
            }

            Run("mount", $"-t tmpfs -o ro,size=1m synod-readonly-test {path}");
            return new ReadOnlyDirectory(path, mounted: true);
        }

        public void Dispose()
        {
            if (mounted || !OperatingSystem.IsLinux())
            {
                Run("umount", path);
            }
            else
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        private static void Run(string program, string arguments)
        {
            using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true })!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"{program} {arguments} failed: {error}");
        }
    }
}
