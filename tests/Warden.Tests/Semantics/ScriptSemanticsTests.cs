namespace Warden.Tests.Semantics;

[Collection("sandbox")]
public sealed class ScriptSemanticsTests(SandboxFixture fx)
{
    [Theory]
    [InlineData("1 + 1", "2")]
    [InlineData("'a' + 'b'", "\"ab\"")]
    [InlineData("({ a: [1, { b: null }] })", "{\"a\":[1,{\"b\":null}]}")]
    [InlineData("undefined", "null")]
    [InlineData("(function () {})", "null")]
    [InlineData("Symbol('s')", "null")]
    [InlineData("[undefined, () => 1]", "[null,null]")]
    [InlineData("({ u: undefined, f() {} })", "{}")]
    [InlineData("var x = 5; x * 2", "10")]
    [InlineData("new Date(0)", "\"1970-01-01T00:00:00.000Z\"")]
    [InlineData("({ toJSON() { return 'custom' } })", "\"custom\"")]
    [InlineData("'\\u00e9\\ud83d\\ude00'", "\"é😀\"")]
    public async Task CompletionValueIsTheResult(string code, string expected)
    {
        OutcomeAssert.Ok(expected, await fx.RunAsync(code));
    }

    [Fact]
    public async Task InputIsTheParsedJsonInput()
    {
        OutcomeAssert.Ok("{\"sum\":5}", await fx.RunAsync("({ sum: input.a + input.b })", input: "{\"a\":2,\"b\":3}"));
    }

    [Fact]
    public async Task InputIsNullWhenAbsent()
    {
        OutcomeAssert.Ok("[true,true]", await fx.RunAsync("[input === null, 'input' in globalThis]"));
    }

    [Fact]
    public async Task PromiseResultsAreAwaited()
    {
        OutcomeAssert.Ok("7", await fx.RunAsync("Promise.resolve(3).then(x => x + 4)"));
        OutcomeAssert.Ok("\"then\"", await fx.RunAsync("({ then(resolve) { resolve('then') } })"));
        OutcomeAssert.Ok("[1,2,3]", await fx.RunAsync("(async () => { const out = []; for (const i of [1, 2, 3]) { await null; out.push(i) } return out })()"));
    }

    [Fact]
    public async Task TimersRunInOrderAndTheExecutionEndsWhenTheResultSettles()
    {
        var outcome = await fx.RunAsync("""
            const order = [];
            setTimeout(() => order.push('t20'), 20);
            setTimeout(() => order.push('t0'), 0);
            queueMicrotask(() => order.push('micro'));
            const id = setTimeout(() => order.push('cancelled'), 5);
            clearTimeout(id);
            let ticks = 0;
            const iv = setInterval(() => { if (++ticks === 3) { clearInterval(iv); } }, 1);
            setTimeout(() => order.push('never: settles first'), 60000);
            new Promise(resolve => setTimeout(() => resolve({ order, ticks }), 40));
            """);
        OutcomeAssert.Ok("{\"order\":[\"micro\",\"t0\",\"t20\"],\"ticks\":3}", outcome);
        Assert.True(outcome.Usage.WallMs < 5000, "pending timers must be cancelled when the result settles");
    }

    [Fact]
    public async Task MicrotasksRunBetweenTimerCallbacksAsInBrowsers()
    {
        OutcomeAssert.Ok("[\"a\",\"a-micro\",\"b\"]", await fx.RunAsync("""
            const log = [];
            setTimeout(() => { log.push('a'); Promise.resolve().then(() => log.push('a-micro')) }, 0);
            setTimeout(() => log.push('b'), 0);
            new Promise(r => setTimeout(() => r(log), 5));
            """));
    }

    [Fact]
    public async Task AnUnsettleablePromiseEndsPromptlyAsScriptError()
    {
        var (outcome, elapsed) = await fx.TimedAsync(new Submission { Code = "new Promise(() => {})", Limits = new ExecutionLimits(TimeoutMs: 10_000) });
        OutcomeAssert.Status(OutcomeStatus.ScriptError, outcome);
        Assert.Contains("never settle", outcome.Error!.Message);
        Assert.True(elapsed < TimeSpan.FromSeconds(4), $"took {elapsed} (the wall limit was 10 s)");
    }

    [Fact]
    public async Task ThrownErrorsComeBackWithUserFramesOnly()
    {
        var outcome = await fx.RunAsync("function inner() { throw new TypeError('boom') }\nfunction outer() { inner() }\nouter()");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", outcome);
        Assert.Equal("boom", outcome.Error!.Message);
        Assert.Equal("    at inner (script.js:1:26)\n    at outer (script.js:2:20)\n    at script.js:3:1", outcome.Error!.Stack);
        Assert.Null(outcome.Error!.Limit);
        Assert.DoesNotContain("warden", outcome.Error!.Stack, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task RejectionsAndNonErrorThrowsAreScriptErrors()
    {
        var rejected = await fx.RunAsync("Promise.reject(new RangeError('nope'))");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", rejected);

        var primitive = await fx.RunAsync("throw 42");
        OutcomeAssert.Status(OutcomeStatus.ScriptError, primitive);
        Assert.Equal("Uncaught 42", primitive.Error!.Message);

        var plain = await fx.RunAsync("throw { code: 7 }");
        Assert.Equal("Uncaught { code: 7 }", plain.Error!.Message);
    }

    [Fact]
    public async Task AnErrorInATimerCallbackFailsTheExecution()
    {
        var outcome = await fx.RunAsync("setTimeout(() => { null.x }, 0); new Promise(r => setTimeout(r, 50))");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", outcome);
    }

    [Fact]
    public async Task SyntaxErrorsCarryLineAndColumn()
    {
        var outcome = await fx.RunAsync("let a = 1;\nlet b = ;\n");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "SyntaxError", outcome);
        Assert.Equal("Unexpected token ';'", outcome.Error!.Message);
        Assert.Equal("    at script.js:2:9", outcome.Error!.Stack);
    }

    [Fact]
    public async Task RuntimeSyntaxErrorsAreNotMistakenForParseErrors()
    {
        var outcome = await fx.RunAsync("const x = 1;\nJSON.parse('{bad')");
        Assert.Equal("SyntaxError", outcome.Error!.Name);
        Assert.Contains("script.js:2:6", outcome.Error!.Stack);
    }

    [Fact]
    public async Task ResultsMustBeJsonSerialisable()
    {
        var bigint = await fx.RunAsync("({ n: 10n })");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", bigint);
        Assert.Equal("", bigint.Error!.Stack);

        var cycle = await fx.RunAsync("const o = {}; o.self = o; o");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", cycle);
    }

    [Fact]
    public async Task UserCodeCannotBreakOutOfTheWrapper()
    {
        // Closing braces, comments and template tricks are just text to eval: nothing is glued.
        var outcome = await fx.RunAsync("}); globalThis.escaped = true; ({");
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "SyntaxError", outcome);
        OutcomeAssert.Ok("\"*/ ok\"", await fx.RunAsync("'*/ ok' // */ }"));
    }

    [Fact]
    public async Task UseStrictScriptsWork()
    {
        OutcomeAssert.Ok("true", await fx.RunAsync("'use strict'; (function () { return this === undefined })()"));
    }

    [Fact]
    public async Task IntlAndModernBuiltinsWork()
    {
        OutcomeAssert.Ok("[\"1,234.5\",[1,2,3],\"b\"]", await fx.RunAsync(
            "[new Intl.NumberFormat('en-US').format(1234.5), [3, 1, 2].toSorted(), Object.groupBy(['a', 'b'], x => x).b[0]]"));
    }

    [Fact]
    public async Task EngineOnlyGlobalsAreAbsent()
    {
        OutcomeAssert.Ok("[\"undefined\",\"undefined\",\"undefined\",\"undefined\",\"undefined\"]", await fx.RunAsync(
            "[typeof WebAssembly, typeof SharedArrayBuffer, typeof Atomics, typeof require, typeof process]"));
    }
}
