namespace Synod.Tests.Operations;

/// <summary>
/// A test that drives a real Chromium through Playwright: Debian's `chromium` package (Playwright's own browser download
/// cannot work offline). Skipped, with one line saying how to run it, where no Chromium is installed; `.ci/run` installs
/// it where it can. SYNOD_CHROMIUM names another executable.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Executable is null)
        {
            Skip = "no Chromium here: install Debian's chromium (apt-get install chromium), or name one in SYNOD_CHROMIUM, to run the dashboard's browser test";
        }
    }

    /// <summary>The Chromium to drive, or null if none is installed.</summary>
    public static string? Executable =>
        new[] { Environment.GetEnvironmentVariable("SYNOD_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" }
            .FirstOrDefault(path => !string.IsNullOrEmpty(path) && File.Exists(path));
}
