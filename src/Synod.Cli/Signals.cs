using System.Runtime.InteropServices;

namespace Synod.Cli;

/// <summary>POSIX signals for stopping child processes politely (Process.Kill sends SIGKILL).</summary>
internal static partial class Signals
{
    private const int SigTerm = 15;

    public static void Terminate(int processId) => _ = NativeKill(processId, SigTerm);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int NativeKill(int pid, int signal);
}
