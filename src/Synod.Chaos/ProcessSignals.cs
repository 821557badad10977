using System.Runtime.InteropServices;

namespace Synod.Chaos;

/// <summary>
/// The POSIX signals the CLI sends to replica processes it started: SIGKILL (a crash), SIGSTOP and
/// SIGCONT (a hang and its end), SIGTERM (a clean stop at the end). Process.Kill covers only SIGKILL, so kill(2)
/// is called directly. SIGSTOP and SIGCONT have different numbers on Linux and on the BSDs (macOS).
/// </summary>
public static partial class ProcessSignals
{
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int SigStopLinux = 19;
    private const int SigContLinux = 18;
    private const int SigStopBsd = 17;
    private const int SigContBsd = 19;

    public static bool CanPause => !OperatingSystem.IsWindows();

    /// <returns>True when the signal was delivered (the process existed).</returns>
    public static bool Kill(int processId) => Send(processId, SigKill);

    public static bool Terminate(int processId) => Send(processId, SigTerm);

    public static bool Stop(int processId) => Send(processId, IsBsd ? SigStopBsd : SigStopLinux);

    public static bool Continue(int processId) => Send(processId, IsBsd ? SigContBsd : SigContLinux);

    private static bool IsBsd => OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();

    private static bool Send(int processId, int signal)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException($"signal {signal} needs POSIX kill(2); on Windows only Process.Kill is available.");
        }

        return NativeKill(processId, signal) == 0;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int NativeKill(int pid, int signal);
}
