namespace Warden.Tests.Isolation;

/// <summary>Regressions from the third round of attacks on the sandbox core.</summary>
[Collection("sandbox")]
public sealed class OutcomeForgeryTests(SandboxFixture fx)
{
    [Theory]
    [InlineData("throw new Error('exceeded its memory limit')")]
    [InlineData("throw 'The V8 runtime has exceeded its memory limit'")]
    public async Task ErrorTextCannotPassForAHeapViolation(string code)
    {
        var outcome = await fx.RunAsync(code, module: true);
        OutcomeAssert.Status(OutcomeStatus.ScriptError, outcome);
    }

    [Fact]
    public async Task InputDataCannotTurnAModuleErrorIntoAMemoryLimit()
    {
        var outcome = await fx.RunAsync("const v = input.settings[input.key]; export default v;",
            input: "{\"key\":\"exceeded its memory limit\"}", module: true);
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", outcome);
    }

    [Fact]
    public async Task CallingTheModuleHookOnAnExhaustedStackIsNoInternalError()
    {
        var outcome = await fx.RunAsync(
            "const hook = globalThis[Symbol.for('warden.module')];\n" +
            "let ok = false;\n" +
            "function deep(n) { try { deep(n + 1); } catch (e) { if (ok) return; hook({ default: 42 }); ok = true; } }\n" +
            "try { deep(0); } catch (e) {}\n" +
            "export default 'real';", module: true);
        Assert.True(outcome.Status is OutcomeStatus.Ok or OutcomeStatus.ScriptError, outcome.ToJson());
    }

    [Fact]
    public async Task ALargeExecutionDoesNotSlowTheNextOneDown()
    {
        for (int i = 0; i < 2; i++)
        {
            OutcomeAssert.Status(OutcomeStatus.Ok, await fx.RunAsync(
                "const keep = []; for (let i = 0; i < 3e6; i++) keep.push({ i }); keep.length", memoryMb: 512, timeoutMs: 20_000, key: "large-then-small"));
            var next = await fx.RunAsync("let s = 0; for (let i = 0; i < 1e5; i++) s += i; s", memoryMb: 512, timeoutMs: 250, key: "large-then-small");
            OutcomeAssert.Ok("4999950000", next);
        }
    }
}
