using Xunit.Abstractions;

namespace Warden.Tests.Isolation;

/// <summary>
/// Huge strings a script makes are ropes (`'x'.repeat(2 ** 28)` costs a few hundred bytes until
/// something flattens it into 256 MB). The sandbox's own code — console, rendering, error text,
/// result serialisation — must never flatten one: the console refuses it by length (output_limit),
/// error text shows a placeholder, a result is stopped by its bound. Each attack runs at 128 MB,
/// where flattening 256 MB would abort the engine and cost the worker.
/// </summary>
[Collection("sandbox")]
public sealed class OversizedStringTests(SandboxFixture fx, ITestOutputHelper output)
{
    private const int MemoryMb = 128;
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromSeconds(10);
    /// <summary>Far below the 256 MB a flattened string would take.</summary>
    private const long MaxGrowthBytes = 64L << 20;

    private const string Huge = "'x'.repeat(2 ** 28)";

    public static TheoryData<string> ConsoleAttacks => new()
    {
        $"console.log({Huge})",
        $"console.log('%s!', {Huge})",
        $"console.log('%o', [{Huge}])",
        $"console.log({Huge} + '%s', 1)",
        $"console.error('a', {{ k: {Huge} }})",
        $"console.log([{Huge}])",
        $"console.log(new Map([[1, {Huge}]]))",
        // A key is flattened by the script itself when it makes the object: 2 MB here, past the 1 MB console budget.
        "console.log({ ['k'.repeat(2 ** 21)]: 1 })",
        $"console.dir({Huge})",
        $"console.assert(false, {Huge})",
        $"console.trace({Huge})",
        $"console.group('g'); console.log('a\\n'.repeat(2 ** 27))",
        $"for (let i = 0; i < 5000; i++) console.group(); console.log('\\n'.repeat(1000))",
        $"console.count({Huge})",
        $"console.time({Huge})",
        $"console.timeEnd({Huge})",
        $"const f = () => 1; Object.defineProperty(f, 'name', {{ value: {Huge} }}); console.log(f)",
    };

    [Theory]
    [MemberData(nameof(ConsoleAttacks))]
    public async Task ConsoleRefusesHugeTextByItsLength(string code)
    {
        await using var probe = await AttackProbe.StartAsync();
        var run = await probe.RunAsync(code, MemoryMb);
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, run.Outcome);
        Assert.True(LimitKind.Console == run.Outcome.Error!.Limit, run.ToString());
        AssertCheap(run);
        await probe.AssertHealthyAsync();
    }

    public static TheoryData<string, string, string> ThrownAttacks => new()
    {
        // code, expected error name, expected text in the message
        { $"throw {Huge}", "Error", "Uncaught [a string of 268435456 characters]" },
        { $"throw new Error({Huge})", "Error", "[a string of 268435456 characters]" },
        { $"throw {{ message: {Huge} }}", "Error", "[a string of 268435456 characters]" },
        { $"throw [{Huge}]", "Error", "[a string of 268435456 characters]" },
        { $"const e = new Error('m'); e.name = {Huge}; throw e", "[a string of 268435456 characters]", "m" },
        { $"new Promise(() => setTimeout(() => {{ throw new TypeError({Huge}) }}, 0))", "TypeError", "[a string of 268435456 characters]" },
        { $"Promise.reject(new Error({Huge}))", "Error", "[a string of 268435456 characters]" },
    };

    [Theory]
    [MemberData(nameof(ThrownAttacks))]
    public async Task ThrownHugeStringsBecomeAPlaceholder(string code, string name, string message)
    {
        await using var probe = await AttackProbe.StartAsync();
        var run = await probe.RunAsync(code, MemoryMb);
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, name, run.Outcome);
        Assert.Contains(message, run.Outcome.Error!.Message);
        AssertCheap(run);
        // A script error is not a limit: the worker goes on to the next execution.
        Assert.True(run.NoWorkerStarted, run.ToString());
        await probe.AssertHealthyAsync();
    }

    [Fact]
    public async Task AHugeStackIsNotCut()
    {
        await using var probe = await AttackProbe.StartAsync();
        var run = await probe.RunAsync($"const e = new Error('m'); e.stack = {Huge}; throw e", MemoryMb);
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", run.Outcome);
        Assert.Equal("m", error.Message);
        Assert.Equal("[a string of 268435456 characters]", error.Stack);
        AssertCheap(run);
        Assert.True(run.NoWorkerStarted, run.ToString());
    }

    [Fact]
    public async Task ErrorTextJustPastItsBoundIsCut()
    {
        // Up to a million characters a prefix is taken (flattening that much costs ~1 MB).
        var outcome = await fx.RunAsync("throw new Error('E'.repeat(900000) + 'tail')", memoryMb: MemoryMb);
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", outcome);
        Assert.StartsWith("EEEE", error.Message);
        Assert.EndsWith("\u2026", error.Message);
    }

    [Theory]
    [InlineData($"const s = new String('a'); s.toString = () => {Huge}; s")]
    [InlineData($"const s = new String('a'); s.toString = () => {Huge}; [s]")]
    [InlineData($"const s = new String('a'); s[Symbol.toPrimitive] = () => {Huge}; ({{ s }})")]
    [InlineData($"({{ toJSON() {{ return new String({Huge}); }} }})")]
    [InlineData($"[{Huge}]")]
    public async Task AHugeResultIsStoppedBeforeItIsBuilt(string code)
    {
        await using var probe = await AttackProbe.StartAsync();
        var run = await probe.RunAsync(code, MemoryMb);
        OutcomeAssert.Status(OutcomeStatus.OutputLimit, run.Outcome);
        Assert.True(LimitKind.Result == run.Outcome.Error!.Limit, run.ToString());
        AssertCheap(run);
        await probe.AssertHealthyAsync();
    }

    [Fact]
    public async Task StringObjectsStillSerialiseAsJsonDoes()
    {
        var outcome = await fx.RunAsync(
            "const s = new String('a'); s.toString = () => 'patched'; [s, { s }, new String('plain'), new Number(3)]", memoryMb: MemoryMb);
        OutcomeAssert.Ok("[\"patched\",{\"s\":\"patched\"},\"plain\",3]", outcome);
    }

    private void AssertCheap(AttackResult run)
    {
        output.WriteLine(run.ToString());
        Assert.True(run.Elapsed < MaxElapsed, run.ToString());
        Assert.True(run.ResidentGrowthBytes < MaxGrowthBytes, run.ToString());
        Assert.True(run.NoWorkerDied, run.ToString());
        Assert.True(run.Outcome.Usage.MemoryBytes < MaxGrowthBytes, run.ToString());
    }
}
