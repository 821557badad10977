using System.Reflection.PortableExecutable;

namespace Synod.Tests.Deploy;

/// <summary>
/// The replica and CLI processes the tests start run Synod's assemblies compiled ahead of time (ReadyToRun), as
/// `./synod` and the published binary do: Synod.Tests.csproj compiles them after the build. Without it every process
/// compiles the server in the JIT's quick tier and the suite takes half as long again (docs/performance.md, "Compiled
/// ahead of time, shipped"), so a build change that silently drops the step fails here rather than only slowing CI.
/// </summary>
public sealed class AheadOfTimeTests
{
    [Theory]
    [InlineData("synod.dll")]
    [InlineData("Synod.Server.dll")]
    [InlineData("Synod.Driver.dll")]
    [InlineData("Synod.Core.dll")]
    [InlineData("Synod.Kv.dll")]
    [InlineData("Synod.Storage.dll")]
    public void The_assemblies_the_tests_start_replicas_from_are_compiled_ahead_of_time(string assembly)
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // Synod.Tests.csproj compiles them on Linux only
        }

        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, assembly));
        using var image = new PEReader(file);

        // A ReadyToRun image's CLI header points at its native code's header; an assembly as built has none.
        var nativeHeader = image.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory;
        Assert.True(nativeHeader.Size > 0,
            $"{assembly} in {AppContext.BaseDirectory} holds no ReadyToRun code: Synod.Tests.csproj's CompileSynodAheadOfTime step did not run (see the build's output for why).");
    }
}
