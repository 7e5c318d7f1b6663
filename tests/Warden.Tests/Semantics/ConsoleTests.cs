namespace Warden.Tests.Semantics;

[Collection("sandbox")]
public sealed class ConsoleTests(SandboxFixture fx)
{
    private async Task<IReadOnlyList<ConsoleEntry>> LogAsync(string code)
    {
        var outcome = await fx.RunAsync(code);
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        return outcome.Console;
    }

    [Fact]
    public async Task EveryLevelIsKept()
    {
        var entries = await LogAsync("console.log('l'); console.info('i'); console.warn('w'); console.error('e'); console.debug('d'); 0");
        Assert.Equal([new("log", "l"), new("info", "i"), new("warn", "w"), new("error", "e"), new("debug", "d")], entries);
    }

    [Fact]
    public async Task ValuesAreRenderedAsBoundedJsonLikeText()
    {
        var entries = await LogAsync("""
            const cyc = { name: 'c' }; cyc.self = cyc;
            console.log('s', 1, -0, 10n, true, null, undefined, Symbol('q'));
            console.log({ a: 'x', 'b-c': [1, { d: 2 }] }, [1, 'two']);
            console.log(cyc);
            console.log(function named() {}, () => 1);
            console.log(new Map([[1, 'a']]), new Set([2]), new Uint8Array([1, 2]));
            console.log({ a: { b: { c: { d: { e: 1 } } } } });
            0
            """);
        Assert.Equal("s 1 -0 10n true null undefined Symbol(q)", entries[0].Text);
        Assert.Equal("{ a: \"x\", \"b-c\": [1, { d: 2 }] } [1, \"two\"]", entries[1].Text);
        Assert.Equal("{ name: \"c\", self: [Circular] }", entries[2].Text);
        Assert.Equal("[Function: named] [Function (anonymous)]", entries[3].Text);
        Assert.Equal("Map(1) { 1 => \"a\" } Set(1) { 2 } Uint8Array(2) [1, 2]", entries[4].Text);
        Assert.Equal("{ a: { b: { c: { d: [Object] } } } }", entries[5].Text);
    }

    [Fact]
    public async Task ForgedTypeTagsDoNotBreakRendering()
    {
        var entries = await LogAsync("""
            for (const tag of ['Date', 'Map', 'Set', 'RegExp', 'ArrayBuffer', 'Promise']) console.log({ [Symbol.toStringTag]: tag, v: 1 });
            0
            """);
        Assert.Equal(6, entries.Count);
        Assert.All(entries.Take(5), e => Assert.Equal("{ v: 1 }", e.Text));
    }

    [Fact]
    public async Task FormatSpecifiersFollowTheConsoleStandard()
    {
        var entries = await LogAsync("console.log('%s=%d (%i) %f%% %o %c.', 'n', 42.9, 7.2, 1.5, { a: 1 }, 'color: red', 'rest'); 0");
        Assert.Equal("n=42 (7) 1.5% { a: 1 } . rest", entries[0].Text);
    }

    [Fact]
    public async Task CountTimeGroupAssertAndTraceWork()
    {
        var entries = await LogAsync("""
            console.count(); console.count(); console.count('x'); console.countReset(); console.count();
            console.group('g'); console.log('inside'); console.groupEnd(); console.log('outside');
            console.assert(true, 'never'); console.assert(false, 'bad %s', 'thing');
            console.time('t'); console.timeEnd('t');
            function where() { console.trace('here') } where();
            console.dir({ d: 1 });
            0
            """);
        Assert.Equal(["default: 1", "default: 2", "x: 1", "default: 1", "g", "  inside", "outside"], entries.Take(7).Select(e => e.Text));
        Assert.Equal(new ConsoleEntry("error", "Assertion failed: bad thing"), entries[7]);
        Assert.Matches(@"^t: \d+(\.\d+)? ms$", entries[8].Text);
        Assert.Equal("trace", entries[9].Level);
        Assert.StartsWith("Trace: here\n    at where (script.js:5:", entries[9].Text);
        Assert.Equal("{ d: 1 }", entries[10].Text);
    }

    [Fact]
    public async Task ErrorsAreRenderedWithTheirStack()
    {
        var entries = await LogAsync("console.error(new Error('bad')); 0");
        Assert.Equal("error", entries[0].Level);
        Assert.Equal("Error: bad\n    at script.js:1:15", entries[0].Text);
    }

    [Fact]
    public async Task ConsoleEntriesLoggedBeforeAKillSurvive()
    {
        var outcome = await fx.RunAsync("console.log('before'); while (true) {}", timeoutMs: 200);
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.Equal([new ConsoleEntry("log", "before")], outcome.Console);
    }

    [Fact]
    public async Task ConsoleEntriesLoggedBeforeAWorkerDeathSurvive()
    {
        var outcome = await fx.RunAsync("console.log('before'); const a = []; for (;;) a.push(new Array(1000).fill(0))", memoryMb: 32, timeoutMs: 20_000);
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, outcome);
        Assert.Equal([new ConsoleEntry("log", "before")], outcome.Console);
        await fx.AssertHealthyAsync();
    }
}
