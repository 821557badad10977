using System.Reflection;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// Results (the markdown tables among them) go to bench/Synod.Benchmarks/BenchmarkDotNet.Artifacts, whatever the
// working directory, so that a run from the repository root leaves nothing untracked there. --artifacts overrides it.
var projectDirectory = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
    .Single(attribute => attribute.Key == "ProjectDirectory").Value!;
var config = DefaultConfig.Instance.WithArtifactsPath(Path.Combine(projectDirectory, "BenchmarkDotNet.Artifacts"));
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);

// A benchmark that failed to build or run must fail the command, not just leave a blank row in the table.
return summaries.Any(summary => summary.HasCriticalValidationErrors || summary.Reports.Any(report => !report.Success)) ? 1 : 0;
