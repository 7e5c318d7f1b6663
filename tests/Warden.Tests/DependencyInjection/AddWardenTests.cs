using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Warden.Tests.DependencyInjection;

/// <summary>AddWarden: the sandbox a service provider gives, its options bound, validated (at start too) and its logger.</summary>
public sealed class AddWardenTests
{
    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    [Fact]
    public async Task ConfigurationOverloadResolvesASandboxThatRunsAScript()
    {
        var configuration = Configuration(new()
        {
            ["Warden:Sandbox:MaxWorkers"] = "1",
            ["Warden:Sandbox:SpareWorkers"] = "0",
            ["Warden:Sandbox:Limits:DefaultTimeoutMs"] = "4000",
        });
        await using var provider = new ServiceCollection().AddWarden(configuration).BuildServiceProvider();

        var sandbox = provider.GetRequiredService<Sandbox>();
        Assert.Same(sandbox, provider.GetRequiredService<Sandbox>());
        var options = provider.GetRequiredService<IOptions<SandboxOptions>>().Value;
        Assert.Equal(1, options.MaxWorkers);
        Assert.Equal(0, options.SpareWorkers);
        Assert.Equal(4000, options.Limits.DefaultTimeoutMs);

        var outcome = await sandbox.RunAsync(new Submission { Code = "input.n * 2", InputJson = "{\"n\":21}" });
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        Assert.Equal("42", outcome.ResultJson);
    }

    [Fact]
    public async Task AProviderDisposedSynchronouslyStopsTheSandboxsWorkers()
    {
        // A ServiceProvider in a plain `using` refuses a singleton that is only IAsyncDisposable: Sandbox is both.
        var provider = new ServiceCollection().AddWarden(o => { o.MaxWorkers = 1; o.SpareWorkers = 0; }).BuildServiceProvider();
        var outcome = await provider.GetRequiredService<Sandbox>().RunAsync(new Submission { Code = "1" });
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        Assert.True(outcome.WorkerPid > 0);

        provider.Dispose();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.Exists($"/proc/{outcome.WorkerPid}") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.False(Directory.Exists($"/proc/{outcome.WorkerPid}"), "the worker outlived its disposed sandbox");
    }

    [Fact]
    public void ConfigureActionRunsAfterBinding()
    {
        var configuration = Configuration(new() { ["Warden:Sandbox:MaxWorkers"] = "3", ["Warden:Sandbox:SpareWorkers"] = "1" });
        using var provider = new ServiceCollection()
            .AddWarden(configuration, options => options.SpareWorkers = 2)
            .BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<SandboxOptions>>().Value;
        Assert.Equal(3, options.MaxWorkers);
        Assert.Equal(2, options.SpareWorkers);
    }

    [Fact]
    public void SectionNameIsTheOneWardenServeReads()
    {
        Assert.Equal("Warden:Sandbox", WardenServiceCollectionExtensions.SandboxSection);
        Assert.Equal(Warden.Server.WardenServer.SandboxSection, WardenServiceCollectionExtensions.SandboxSection);
    }

    [Fact]
    public void InvalidOptionsListEveryProblemAtOnce()
    {
        using var provider = new ServiceCollection()
            .AddWarden(options =>
            {
                options.MaxWorkers = 0;
                options.MaxQueuedExecutions = -1;
                options.DefaultEngine = "spidermonkey";
            })
            .BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<Sandbox>());
        Assert.Contains(e.Failures, m => m.Contains("MaxWorkers (0)"));
        Assert.Contains(e.Failures, m => m.Contains("MaxQueuedExecutions (-1)"));
        Assert.Contains(e.Failures, m => m.Contains("DefaultEngine ('spidermonkey')"));
        Assert.Equal(new SandboxOptions { MaxWorkers = 0, MaxQueuedExecutions = -1, DefaultEngine = "spidermonkey" }.Validate().Count, e.Failures.Count());
    }

    [Fact]
    public void ARefusedValueWhileBindingIsAValidationFailureNotAReflectionCrash()
    {
        var configuration = Configuration(new()
        {
            ["Warden:Sandbox:Limits:DefaultTimeoutMs"] = "0",
            ["Warden:Sandbox:MaxWorkers"] = "2",
        });
        using var provider = new ServiceCollection()
            .AddWarden(configuration, options => options.SpareWorkers = 5)
            .BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SandboxOptions>>().Value);
        // The binder's refusal, said plainly with the section and the value, and the other problems beside it.
        Assert.Contains(e.Failures, m => m.StartsWith("Warden:Sandbox: ", StringComparison.Ordinal) && m.Contains("DefaultTimeoutMs") && m.Contains("(got 0)"));
        Assert.Contains(e.Failures, m => m.Contains("SpareWorkers (5)"));
        Assert.DoesNotContain(e.Failures, m => m.Contains("invocation", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void AValueOfTheWrongTypeIsAValidationFailure()
    {
        var configuration = Configuration(new() { ["Warden:Sandbox:MaxWorkers"] = "many" });
        using var provider = new ServiceCollection().AddWarden(configuration).BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SandboxOptions>>().Value);
        Assert.Contains(e.Failures, m => m.StartsWith("Warden:Sandbox: ", StringComparison.Ordinal) && m.Contains("MaxWorkers"));
    }

    [Fact]
    public async Task ValidateOnStartStopsTheHostBeforeAnythingResolvesTheSandbox()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Warden:Sandbox:MaxWorkers"] = "0" });
        builder.Services.AddWarden(builder.Configuration);
        using var host = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(e.Failures, m => m.Contains("MaxWorkers (0)"));
    }

    [Fact]
    public async Task TheSandboxLogsThroughTheRegisteredLogger()
    {
        var logger = new RecordingLogger<Sandbox>();
        var services = new ServiceCollection()
            .AddSingleton<ILogger<Sandbox>>(logger)
            .AddWarden(options => { options.MaxWorkers = 1; options.SpareWorkers = 0; });
        await using var provider = services.BuildServiceProvider();

        var outcome = await provider.GetRequiredService<Sandbox>().RunAsync(new Submission { Code = "1 + 1" });
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        Assert.Contains(logger.Lines, line => line.Message.StartsWith("Worker ", StringComparison.Ordinal) && line.Message.Contains("started"));
    }
}
