using Xunit.Abstractions;

namespace Warden.Tests.Isolation;

/// <summary>
/// The prelude's own messages are built without run-time lookups a script can redirect: a planted
/// <c>String.prototype[Symbol.replace]</c> must neither word the contract's message nor receive a prelude closure.
/// </summary>
public sealed class PreludeMessageHijackTests(ITestOutputHelper output)
{
    private async Task<Outcome> RunAsync(string code, int? memoryMb = null)
    {
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0 });
        var outcome = await sandbox.RunAsync(new Submission { Code = code, Limits = new ExecutionLimits(5000, null, memoryMb) });
        output.WriteLine(outcome.ToJson().Length > 2000 ? outcome.ToJson()[..2000] : outcome.ToJson());
        return outcome;
    }

    [Fact]
    public async Task AnOversizedResultsMessageIsTheContractsNotTheScripts()
    {
        var outcome = await RunAsync(
            "String.prototype[Symbol.replace] = function (template, fill) { globalThis.leak = fill; return 'FORGED by the script: ' + typeof fill; };\n" +
            "'x'.repeat(2_000_000)");
        Assert.Equal(OutcomeStatus.OutputLimit, outcome.Status);
        Assert.Equal("The result is larger than 1048576 bytes", outcome.Error!.Message);
    }

    [Fact]
    public async Task AHookReturningAnObjectStillEndsAsOutputLimit()
    {
        var outcome = await RunAsync(
            "String.prototype[Symbol.replace] = function () { return { toString() { return 'obj'; } }; };\n" +
            "'x'.repeat(2_000_000)");
        Assert.Equal(OutcomeStatus.OutputLimit, outcome.Status);
    }

    [Fact]
    public async Task AHookThrowingStillEndsAsOutputLimit()
    {
        var outcome = await RunAsync(
            "String.prototype[Symbol.replace] = function () { throw new Error('boom'); };\n" +
            "'x'.repeat(2_000_000)");
        Assert.Equal(OutcomeStatus.OutputLimit, outcome.Status);
    }

    [Fact]
    public async Task AHookReturningAHugeRopeIsBounded()
    {
        var outcome = await RunAsync(
            "String.prototype[Symbol.replace] = function () { let s = 'ab'.repeat(1 << 19); for (let i = 0; i < 8; i++) s = s + s; return s; };\n" +
            "'x'.repeat(2_000_000)", memoryMb: 64);
        output.WriteLine("message length: " + (outcome.Error?.Message.Length ?? -1));
        Assert.Equal(OutcomeStatus.OutputLimit, outcome.Status);
    }
}

/// <summary>No function of the prelude's reaches a script through a built-in it replaced.</summary>
public sealed class PreludeReachabilityTests(ITestOutputHelper output)
{
    /// <summary>console.trace must hand no function of the prelude's to a script (a replaced Error.captureStackTrace once received the prelude's stackHere).</summary>
    [Fact]
    public async Task ConsoleTraceHandsTheScriptNoPreludeFunction()
    {
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0 });
        var outcome = await sandbox.RunAsync(new Submission { Code =
            "let got = []; Error.captureStackTrace = function (holder, fn) { got.push(typeof fn === 'function' ? fn.name + ': ' + String(fn).slice(0, 40) : String(fn)); holder.stack = 'x'; };\n" +
            "console.trace('t'); got" });
        output.WriteLine(outcome.ToJson());
        Assert.Equal(OutcomeStatus.Ok, outcome.Status);
        Assert.Equal("[]", outcome.ResultJson);
    }
}
