namespace Warden.Tests.Isolation;

/// <summary>
/// Timer delays and due times are whole milliseconds (no finer clock to be had from them), and intervals
/// are clamped to at least 4 ms after 5 repeats, as in browsers (docs/limits.md, "Timers").
/// </summary>
[Collection("sandbox")]
public sealed class TimerResolutionTests(SandboxFixture fx)
{
    [Fact]
    public async Task TimersHaveWholeMillisecondsAndIntervalsAreThrottled()
    {
        OutcomeAssert.Ok("true", await fx.RunAsync(
            "const order = [];\n" +
            "setTimeout(() => order.push('a'), 0.9);\n" +
            "setTimeout(() => order.push('b'), 0);\n" +
            "let ticks = 0;\n" +
            "const iv = setInterval(() => ticks++, 0);\n" +
            "new Promise(r => setTimeout(() => { clearInterval(iv); r(order.join() === 'a,b' && ticks < 60) }, 100));"));
    }
}
