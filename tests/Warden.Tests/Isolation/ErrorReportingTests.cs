namespace Warden.Tests.Isolation;

/// <summary>
/// A script's errors come back as it threw them — the exact value, never a host exception behind it,
/// never lost behind a result.
/// </summary>
[Collection("sandbox")]
public sealed class ErrorReportingTests(SandboxFixture fx)
{
    [Fact]
    public async Task HostExceptionsAreNeverExposed()
    {
        OutcomeAssert.Ok("[\"undefined\",true]", await fx.RunAsync(
            "import('nope').catch(e => [typeof e.hostException, e instanceof Error])"));
    }

    [Theory]
    // Thrown after top-level await: the rejection is described inside the isolate, exactly.
    [InlineData("await null; throw -0", "Uncaught -0")]
    [InlineData("await null; throw Symbol('s')", "Uncaught Symbol(s)")]
    // Thrown synchronously: ClearScript formats the error (docs/limits.md, "Module errors").
    [InlineData("throw new RangeError('sync')", "sync")]
    [InlineData("throw 7", "Uncaught 7")]
    public async Task ModulesReportThrownValuesFaithfully(string code, string message)
    {
        var outcome = await fx.RunAsync(code, module: true);
        OutcomeAssert.Status(OutcomeStatus.ScriptError, outcome);
        Assert.Equal(message, outcome.Error!.Message);
    }

    [Fact]
    public async Task AnUncaughtMicrotaskErrorIsNotLostBehindAResult()
    {
        var outcome = await fx.RunAsync("queueMicrotask(() => { throw new TypeError('in microtask') }); 42");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", outcome);
    }
}
