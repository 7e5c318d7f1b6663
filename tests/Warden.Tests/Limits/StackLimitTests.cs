namespace Warden.Tests.Limits;

[Collection("sandbox")]
public sealed class StackLimitTests(SandboxFixture fx)
{
    [Theory]
    [InlineData("function r() { return r() + 1 } r()")]
    [InlineData("const o = { toString() { return String(this) + 'x' } }; String(o)")]
    [InlineData("function r(n) { return n === 0 ? 0 : 1 + r(n - 1) } r(1e7)")]
    [InlineData("const f = () => [].concat.apply([], [f()]); f()")]
    public async Task DeepRecursionIsACleanRangeError(string code)
    {
        var outcome = await fx.RunAsync(code, timeoutMs: 10_000);
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", outcome);
        Assert.Contains("call stack", outcome.Error!.Message);
        Assert.True(outcome.Error!.Stack.Length <= fx.Sandbox.Limits.MaxErrorTextBytes + 3);
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task RecursionDepthIsAtLeastABrowsers()
    {
        var outcome = await fx.RunAsync("let d = 0; function r() { d++; r() } try { r() } catch { } d > 10000");
        OutcomeAssert.Ok("true", outcome);
    }

    [Fact]
    public async Task CatchingStackOverflowAndContinuingWorks()
    {
        OutcomeAssert.Ok("\"recovered\"", await fx.RunAsync("function r() { r() } try { r() } catch (e) { } 'recovered'"));
    }
}
