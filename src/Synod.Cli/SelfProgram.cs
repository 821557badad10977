namespace Synod.Cli;

/// <summary>How to start this same program again (for replicas started by `chaos` and `bench-failover`).</summary>
public static class SelfProgram
{
    /// <summary>The program and, when run through `dotnet`, the assembly; the replica's arguments follow.</summary>
    /// <exception cref="ArgumentException">The running program cannot be found.</exception>
    public static IReadOnlyList<string> Get()
    {
        var processPath = Environment.ProcessPath ?? throw new ArgumentException("cannot tell which program is running, so the replicas cannot be started.");
        // Run as "dotnet synod.dll": the assembly beside the program's files. A published single file is its own program.
        return Path.GetFileNameWithoutExtension(processPath) == "dotnet" ? [processPath, Path.Combine(AppContext.BaseDirectory, "synod.dll")] : [processPath];
    }
}
