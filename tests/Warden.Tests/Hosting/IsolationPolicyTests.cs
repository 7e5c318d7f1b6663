using Microsoft.Extensions.Logging;

namespace Warden.Tests.Hosting;

/// <summary>
/// Secure by default: a sandbox whose workers would miss an OS layer refuses to start, naming the
/// layer and how to enable it, unless the operator chose weaker isolation by name.
/// </summary>
[Collection("sandbox")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IsolationPolicyTests : IDisposable
{
    private readonly string _hidden;

    public IsolationPolicyTests()
    {
        // A worker installed where the workers' uid (65534) cannot reach it, and a staging directory
        // under world-writable /tmp, which staging refuses: the unprivileged-uid layer cannot be
        // applied to it, as on a machine without setpriv.
        _hidden = Directory.CreateTempSubdirectory("warden-hidden-").FullName;
        File.SetUnixFileMode(_hidden, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var file in Directory.GetFiles(AppContext.BaseDirectory))
        {
            File.Copy(file, Path.Combine(_hidden, Path.GetFileName(file)));
        }
        foreach (var directory in Directory.GetDirectories(AppContext.BaseDirectory, "runtimes"))
        {
            CopyDirectory(directory, Path.Combine(_hidden, "runtimes"));
        }
    }

    public void Dispose() => Directory.Delete(_hidden, recursive: true);

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (var directory in Directory.GetDirectories(from))
        {
            CopyDirectory(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }

    private SandboxOptions HiddenWorker(OsIsolationMode mode) => new()
    {
        MaxWorkers = 1,
        SpareWorkers = 0,
        OsIsolation = mode,
        WorkerAssemblyPath = Path.Combine(_hidden, "Warden.Worker.dll"),
        WorkerStagingRoot = Path.Combine(Path.GetTempPath(), "warden-unsafe-staging"),
    };

    [Fact]
    public void RequiredIsTheDefaultAndRefusesToStartWithoutALayer()
    {
        Assert.Equal(OsIsolationMode.Required, new SandboxOptions().OsIsolation);
        var e = Assert.Throws<IsolationUnavailableException>(() => new Sandbox(HiddenWorker(OsIsolationMode.Required)));
        var missing = Assert.Single(e.Report.Missing);
        Assert.Equal("unprivileged-uid", missing.Name);
        Assert.Contains(_hidden, missing.Detail);
        Assert.Contains("could not be staged", missing.Detail);
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "warden-unsafe-staging")));
        Assert.NotNull(missing.Remedy);
        Assert.Contains("unprivileged-uid", e.Message);
        Assert.Contains("to enable:", e.Message);
        Assert.Contains("BestEffort", e.Message);
    }

    [Fact]
    public async Task BestEffortRunsWithTheLayersThatExistAndSaysWhichIsMissing()
    {
        var logger = new RecordingLogger<Sandbox>();
        await using var sandbox = new Sandbox(HiddenWorker(OsIsolationMode.BestEffort), logger);
        Assert.Contains(logger.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("'unprivileged-uid' is not active"));
        var outcome = await sandbox.RunAsync(new Submission { Code = "1 + 1" });
        OutcomeAssert.Ok("2", outcome);
        // Without the unprivileged uid outside, the namespaces, seccomp and the cgroup still apply.
        int worker = WorkerProcessInspector.FindWorker(outcome.WorkerPid);
        Assert.Equal("0 0 0 0", WorkerProcessInspector.Status(worker, "Uid"));
        Assert.NotEqual(WorkerProcessInspector.Namespace(Environment.ProcessId, "user"), WorkerProcessInspector.Namespace(worker, "user"));
        Assert.Equal("0000000000000000", WorkerProcessInspector.Status(worker, "CapEff"));
        Assert.Equal("2", WorkerProcessInspector.Status(worker, "Seccomp"));
        Assert.Matches($"/warden-{Environment.ProcessId}/w[0-9]+$", File.ReadLines($"/proc/{worker}/cgroup").Single(l => l.Contains(":memory:")));
    }

    [Fact]
    public async Task DisabledIsAnExplicitChoiceAndAppliesNoLayer()
    {
        await using var sandbox = new Sandbox(HiddenWorker(OsIsolationMode.Disabled));
        var outcome = await sandbox.RunAsync(new Submission { Code = "1 + 1" });
        OutcomeAssert.Ok("2", outcome);
        Assert.Equal("0", WorkerProcessInspector.Status(WorkerProcessInspector.FindWorker(outcome.WorkerPid), "Seccomp"));
    }

    [Theory]
    [InlineData(nameof(SandboxOptions.WorkerCpuCores), 0.0)]
    [InlineData(nameof(SandboxOptions.WorkerCpuCores), double.NaN)]
    [InlineData(nameof(SandboxOptions.WorkerMaxTasks), 8)]
    [InlineData(nameof(SandboxOptions.WorkerMaxTasks), 100_000)]
    [InlineData(nameof(SandboxOptions.OsIsolation), 7)]
    public void BadOsSettingsAreRejectedByName(string property, double value)
    {
        var options = new SandboxOptions();
        var prop = typeof(SandboxOptions).GetProperty(property)!;
        prop.SetValue(options, prop.PropertyType == typeof(int) ? (int)value
            : prop.PropertyType == typeof(OsIsolationMode) ? (OsIsolationMode)(int)value : value);
        var e = Assert.Throws<SandboxOptionsException>(() => new Sandbox(options));
        Assert.Contains(e.Errors, m => m.StartsWith(property, StringComparison.Ordinal));
    }
}
