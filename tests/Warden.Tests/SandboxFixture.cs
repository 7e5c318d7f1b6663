using System.Diagnostics;
using System.Text.Json;

namespace Warden.Tests;

/// <summary>
/// One sandbox shared by the tests of the "sandbox" collection, which run one at a time so that
/// time measurements are not distorted by other tests competing for the machine's two cores.
/// </summary>
public sealed class SandboxFixture : IAsyncLifetime
{
    public Sandbox Sandbox { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 2, SpareWorkers = 1 });
        await Sandbox.WarmUpAsync();
    }

    public async Task DisposeAsync() => await Sandbox.DisposeAsync();

    /// <summary>Runs a classic script and times it from the caller's side.</summary>
    public async Task<(Outcome Outcome, TimeSpan Elapsed)> TimedAsync(Submission submission)
    {
        var clock = Stopwatch.StartNew();
        var outcome = await Sandbox.RunAsync(submission);
        return (outcome, clock.Elapsed);
    }

    public Task<Outcome> RunAsync(string code, string? input = null, int? timeoutMs = null, int? cpuMs = null, int? memoryMb = null, bool module = false, string? key = null) =>
        Sandbox.RunAsync(new Submission
        {
            Code = code,
            InputJson = input,
            IsModule = module,
            Limits = new ExecutionLimits(timeoutMs, cpuMs, memoryMb),
            IsolationKey = key,
        });

    /// <summary>After any attack, the sandbox must still run an ordinary script correctly.</summary>
    public async Task AssertHealthyAsync()
    {
        var outcome = await RunAsync("[typeof leaked, input.n * 2]", input: "{\"n\":21}");
        Assert.Equal(OutcomeStatus.Ok, outcome.Status);
        Assert.Equal("[\"undefined\",42]", outcome.ResultJson);
    }
}

[CollectionDefinition("sandbox")]
public sealed class SandboxCollection : ICollectionFixture<SandboxFixture>;

internal static class OutcomeAssert
{
    public static void Status(OutcomeStatus expected, Outcome outcome)
    {
        Assert.True(expected == outcome.Status, $"expected {expected}, got {outcome.ToJson()}");
    }

    /// <summary>Asserts a failed outcome with the given status and error name; returns its error.</summary>
    public static ExecutionError Failed(OutcomeStatus expected, string errorName, Outcome outcome)
    {
        Status(expected, outcome);
        Assert.Equal(errorName, outcome.Error!.Name);
        return outcome.Error;
    }

    public static void Ok(string expectedJson, Outcome outcome)
    {
        Status(OutcomeStatus.Ok, outcome);
        Assert.Equal(Normalize(expectedJson), Normalize(outcome.ResultJson!));
    }

    /// <summary>
    /// Asserts that <paramref name="later"/> ran in the warm isolate <paramref name="earlier"/> ran in
    /// (<see cref="IsolationUnit.Context"/>), <paramref name="contextsBetween"/> contexts on: without this, a later
    /// execution that happened to get a fresh isolate would pass every check of a cross-execution attack vacuously.
    /// </summary>
    public static void SameWarmIsolate(Outcome earlier, Outcome later, int contextsBetween = 1)
    {
        Assert.True(earlier.WarmContext >= 1, $"the earlier execution did not run in a warm isolate: {earlier.WarmContext}");
        Assert.Equal(earlier.WarmContext + contextsBetween, later.WarmContext);
        Assert.Equal(earlier.WorkerPid, later.WorkerPid);
    }

    private static string Normalize(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);
}
