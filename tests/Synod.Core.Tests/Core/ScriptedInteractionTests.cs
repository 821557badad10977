namespace Synod.Tests.Core;

/// <summary>
/// Scripted interaction tests of the core: each file in testdata/ is a script of steps with the expected trace.
/// A changed trace fails the test; regenerate with SYNOD_REWRITE_TESTDATA=1 and review the diff.
/// </summary>
public sealed class ScriptedInteractionTests
{
    public static TheoryData<string> Scripts()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "testdata"), "*.txt").Order())
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void Script_produces_its_expected_trace(string name)
    {
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "testdata", name)).Replace("\r\n", "\n");
        var actual = ScriptRunner.Run(expected);
        if (Environment.GetEnvironmentVariable("SYNOD_REWRITE_TESTDATA") == "1")
        {
            File.WriteAllText(Path.Combine(ScriptRunner.SourceDirectory(), name), actual);
            return;
        }

        Assert.Equal(expected.TrimEnd(), actual.TrimEnd());
    }
}
