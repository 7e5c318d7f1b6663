using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Warden.Tests.Diagnostics;

/// <summary>
/// <c>AddWardenHealthChecks</c>: live while the sandbox is up; ready once a locked-down worker really started, not
/// ready when worker starts fail, ready again when they start again; the OS-isolation report in the data.
/// </summary>
[Collection("sandbox")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HealthCheckTests
{
    private static (ServiceProvider Services, HealthCheckService Health) HealthOf(Sandbox sandbox)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        // AddWarden (the library's registration) would register it; the checks only need the singleton.
        services.AddSingleton(sandbox);
        services.AddHealthChecks().AddWardenHealthChecks();
        var provider = services.BuildServiceProvider();
        return (provider, provider.GetRequiredService<HealthCheckService>());
    }

    private static Task<HealthReport> CheckAsync(HealthCheckService health, string tag) =>
        health.CheckHealthAsync(r => r.Tags.Contains(tag));

    [Fact]
    public async Task LiveAndReadyAfterARealWorkerStartWithTheIsolationReport()
    {
        var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 1 });
        var (services, health) = HealthOf(sandbox);
        await using var _ = services;
        await sandbox.WarmUpAsync();

        var live = await CheckAsync(health, "live");
        Assert.Equal(HealthStatus.Healthy, live.Status);
        Assert.Equal(["warden-live"], live.Entries.Keys);
        var ready = await CheckAsync(health, "ready");
        Assert.Equal(HealthStatus.Healthy, ready.Status);
        var entry = ready.Entries["warden-ready"];
        Assert.True((long)entry.Data["workers_started"] >= 1);
        Assert.Equal(0L, entry.Data["worker_start_failures"]);
        var report = Sandbox.ProbeIsolation();
        Assert.Equal(report.AllActive ? "every OS layer active" : "OS layers missing: " + string.Join(", ", report.Missing.Select(l => l.Name)),
            entry.Data[WardenHealthCheckBuilderExtensions.IsolationDataKey]);
        Assert.NotEmpty(report.Layers);
        foreach (var layer in report.Layers)
        {
            Assert.StartsWith(layer.Active ? "active: " : "missing: ", (string)entry.Data["isolation." + layer.Name]);
        }

        await sandbox.DisposeAsync();
        Assert.Equal(HealthStatus.Unhealthy, (await CheckAsync(health, "live")).Status);
        Assert.Equal(HealthStatus.Unhealthy, (await CheckAsync(health, "ready")).Status);
    }

    [Fact]
    public async Task ReadinessFollowsWhetherWorkersStart()
    {
        // A real start failure: every worker command goes through a gate that refuses to start it (exits before the
        // worker's handshake) while a file exists, and hands over to the worker otherwise.
        string directory = Directory.CreateTempSubdirectory("warden-health-").FullName;
        string broken = Path.Combine(directory, "broken");
        string gate = Path.Combine(directory, "gate.sh");
        File.WriteAllText(gate, $"#!/bin/sh\nif [ -e '{broken}' ]; then exit 3; fi\nexec \"$@\"\n");
        File.SetUnixFileMode(gate, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        try
        {
            await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 1, WorkerCommandPrefix = [gate] });
            var (services, health) = HealthOf(sandbox);
            await using var _ = services;
            await sandbox.WarmUpAsync();
            Assert.Equal(HealthStatus.Healthy, (await CheckAsync(health, "ready")).Status);

            // Workers stop starting: this execution takes the warm spare, and the spare started in its place fails.
            File.WriteAllText(broken, "");
            OutcomeAssert.Status(OutcomeStatus.Ok, await sandbox.RunAsync(new Submission { Code = "1", IsolationKey = "a" }));
            var notReady = await WaitForAsync(health, HealthStatus.Unhealthy);
            var entry = notReady.Entries["warden-ready"];
            Assert.StartsWith("The last worker start failed", entry.Description);
            Assert.True((long)entry.Data["worker_start_failures"] >= 1);
            Assert.Equal(HealthStatus.Healthy, (await CheckAsync(health, "live")).Status);

            // They start again: the next execution of a new key starts a worker, and the sandbox is ready again.
            File.Delete(broken);
            OutcomeAssert.Status(OutcomeStatus.Ok, await sandbox.RunAsync(new Submission { Code = "2", IsolationKey = "b" }));
            var readyAgain = await CheckAsync(health, "ready");
            Assert.Equal(HealthStatus.Healthy, readyAgain.Status);
            Assert.True((long)readyAgain.Entries["warden-ready"].Data["workers_started"] >= 2);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<HealthReport> WaitForAsync(HealthCheckService health, HealthStatus status)
    {
        HealthReport report = await CheckAsync(health, "ready");
        for (int i = 0; i < 300 && report.Status != status; i++)
        {
            await Task.Delay(100);
            report = await CheckAsync(health, "ready");
        }
        Assert.Equal(status, report.Status);
        return report;
    }
}
