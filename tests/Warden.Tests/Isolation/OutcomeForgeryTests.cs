namespace Warden.Tests.Isolation;

/// <summary>
/// Nothing a script throws, reads from its input or calls can make its execution look as if it ended
/// otherwise: no limit it did not hit, no internal error, no refusal it was not given.
/// </summary>
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
    public async Task ANewTargetCannotForgeARefusal()
    {
        var outcome = await fx.RunAsync(
            "const nt = function () {}.bind();\n" +
            "Object.defineProperty(nt, 'prototype', { get() { throw new RangeError('Array buffer allocation failed') } });\n" +
            "Reflect.construct(Uint8Array, [8], nt)");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", outcome);
        Assert.Null(outcome.Error!.Limit);
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
}
