using System.Diagnostics;
using Warden.Protocol;

namespace Warden.Tests.Semantics;

/// <summary>
/// A module's failures — top-level throws, rejected top-level awaits, parse and link errors, refused
/// imports — come back through the prelude's own error path, described inside the isolate as bounded
/// strings, as a classic script's do: never copied into .NET by ClearScript, never a timeout or a
/// lost worker, never .NET's or ClearScript's text, never a stack frame the script planted.
/// </summary>
[Collection("sandbox")]
public sealed class ModuleErrorTests(SandboxFixture fx, Xunit.Abstractions.ITestOutputHelper log)
{
    /// <summary>
    /// Generous for a 2-core machine shared by several builds: small failures take ~0.1 s, a thrown
    /// value of 16–32 M characters 1–2 s (making and rendering it in the isolate, as for a classic
    /// script); the old path ran past a 5 s timeout, and the attacks here get 20 s.
    /// </summary>
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(4);

    private async Task<Outcome> AttackAsync(string entry, Dictionary<string, string>? modules = null, bool module = true)
    {
        long startsBefore = fx.Sandbox.Statistics.WorkersStarted;
        var clock = Stopwatch.StartNew();
        var outcome = await fx.Sandbox.RunAsync(new Submission { Code = entry, IsModule = module, Modules = modules,
            Limits = new ExecutionLimits(TimeoutMs: 20_000) });
        var elapsed = clock.Elapsed;
        log.WriteLine($"{elapsed.TotalMilliseconds:F0} ms, peak {outcome.Usage.MemoryBytes >> 20} MB: {Shorten(outcome.ToJson())}");
        Assert.True(elapsed < Quick, $"took {elapsed}: {Shorten(outcome.ToJson())}");
        // The thrown value lives in the isolate's heap, within the execution's memory limit; nothing
        // copies it outside (the old path copied it into .NET, where no limit applied).
        Assert.True(outcome.Usage.MemoryBytes <= (long)fx.Sandbox.Limits.DefaultMemoryMb << 20, $"peak {outcome.Usage.MemoryBytes} bytes");
        // No worker was lost or replaced: the same worker runs the next execution.
        Assert.True(startsBefore == fx.Sandbox.Statistics.WorkersStarted, $"a worker was started: {Shorten(outcome.ToJson())}");
        if (outcome.Error is { } error)
        {
            int max = fx.Sandbox.Limits.MaxErrorTextBytes;
            Assert.True(error.Message.Length <= max && error.Stack.Length <= max && error.Name.Length <= max);
        }
        await fx.AssertHealthyAsync();
        Assert.True(startsBefore == fx.Sandbox.Statistics.WorkersStarted, "a worker was started by the health check");
        return outcome;
    }

    private static string Shorten(string text) => text.Length <= 600 ? text : text[..600] + "...";

    [Theory]
    [InlineData("throw 'T'.repeat(2**25);")]
    [InlineData("await null; throw 'T'.repeat(2**25);")]
    [InlineData("await new Promise(r => setTimeout(r, 5)); throw 'T'.repeat(2**25);")]
    public async Task AHugeStringThrownAtTopLevelIsAScriptError(string entry)
    {
        var outcome = await AttackAsync(entry);
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", outcome);
        // Too long to take a prefix of without flattening it (a rope can stand for hundreds of MB):
        // the prelude measures it and names its length.
        Assert.Equal("Uncaught [a string of 33554432 characters]", error.Message);
        Assert.Equal("", error.Stack);
    }

    // 16 M characters: large enough that ClearScript's copy into .NET cost seconds on the old path.
    [Theory]
    [InlineData("throw new Error('E'.repeat(2**24));")]
    [InlineData("await 0; throw new Error('E'.repeat(2**24));")]
    public async Task AHugeErrorMessageAtTopLevelIsAScriptError(string entry)
    {
        var outcome = await AttackAsync(entry);
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", outcome);
        Assert.Equal("[a string of 16777216 characters]", error.Message);
        Assert.DoesNotContain("EEEE", error.Stack);
    }

    [Fact]
    public async Task AHugeThrowInAnImportedModuleIsAScriptError()
    {
        var outcome = await AttackAsync("import './big.js'; export default 1;",
            new() { ["big.js"] = "export const x = 1;\nthrow new RangeError('R'.repeat(2**24));" });
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", outcome);
        Assert.Equal("[a string of 16777216 characters]", error.Message);
        // Frames of named modules: FramesOfNamedModulesAreKept (here the stack text is mostly message).
        Assert.DoesNotContain("RRRR", error.Stack);
    }

    [Fact]
    public async Task ClearScriptsSetResultIsNothingAScriptCanCall()
    {
        // ClearScript's import.meta.setResult copied its argument into .NET outside every limit (an
        // attack review's 2^27-character string cost the worker); the loader overwrites it.
        var shape = await AttackAsync("export default [Object.getOwnPropertyNames(import.meta), typeof import.meta.setResult, Object.keys(import.meta).length]");
        OutcomeAssert.Ok("[[\"setResult\"],\"undefined\",0]", shape);
        var outcome = await AttackAsync("import.meta.setResult('x'.repeat(2 ** 27)); export default 1;");
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", outcome);
        Assert.Contains("setResult", error.Message);
        // A named module's import.meta too.
        var named = await AttackAsync("import { f } from './lib.js'; export default f();",
            new() { ["lib.js"] = "export const f = () => typeof import.meta.setResult;" });
        OutcomeAssert.Ok("\"undefined\"", named);
    }

    [Fact]
    public async Task AModuleFailsExactlyAsAClassicScriptWithTheSameThrow()
    {
        // The case: a 64 M-character message. It now takes the classic script's path, the
        // prelude's describe(), which measures the message without flattening it: a script_error
        // naming its length, in the same worker, in a module as in a classic script.
        const string Throw = "throw new Error('E'.repeat(2**26));";
        var clock = Stopwatch.StartNew();
        var classic = await fx.RunAsync(Throw);
        var classicElapsed = clock.Elapsed;
        clock.Restart();
        var module = await fx.RunAsync(Throw, module: true);
        var moduleElapsed = clock.Elapsed;
        log.WriteLine($"classic {classicElapsed.TotalMilliseconds:F0} ms {Shorten(classic.ToJson())}\nmodule {moduleElapsed.TotalMilliseconds:F0} ms {Shorten(module.ToJson())}");
        OutcomeAssert.Status(OutcomeStatus.ScriptError, classic);
        Assert.Equal(classic.Status, module.Status);
        Assert.Equal(classic.Error?.Message, module.Error?.Message);
        Assert.Equal(classic.Error?.Name, module.Error?.Name);
        Assert.Equal(classic.Error?.Limit, module.Error?.Limit);
        Assert.True(moduleElapsed < 2 * classicElapsed + TimeSpan.FromSeconds(1), $"module {moduleElapsed}, classic {classicElapsed}");
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task ARevokedProxyThrownAtTopLevelIsDescribedByWarden()
    {
        var outcome = await AttackAsync("const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); throw proxy;");
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", outcome);
        Assert.Equal("The thrown value could not be inspected", error.Message);
        Assert.DoesNotContain("pending", error.Message + error.Stack, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("export default await import('');", "Cannot find module '': only the submitted modules can be imported")]
    [InlineData("export default await import(' ');", "Cannot find module ' ': only the submitted modules can be imported")]
    [InlineData("import x from ''; export default x;", "Cannot find module '': only the submitted modules can be imported")]
    [InlineData("export default await import('a\\n    at /etc/passwd:1:1');", "Cannot find module 'a\\u000a    at /etc/passwd:1:1': only the submitted modules can be imported")]
    public async Task EveryRefusedSpecifierGetsWardensOwnMessage(string entry, string message)
    {
        var outcome = await AttackAsync(entry);
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", outcome);
        Assert.Equal(message, error.Message);
        Assert.DoesNotContain("Parameter", error.Message);
        Assert.DoesNotContain("/etc/passwd", error.Stack);
    }

    [Fact]
    public async Task ALongRefusedSpecifierIsQuotedOnlyInPart()
    {
        var outcome = await AttackAsync("export default await import('x'.repeat(1e6));");
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", outcome);
        Assert.Equal("Cannot find module '" + new string('x', 200) + "...': only the submitted modules can be imported", error.Message);
    }

    [Theory]
    [InlineData(true, "throw new Error('x\\n    at /etc/passwd:1:1\\n    at f (/etc/shadow:2:2)');", "    at module.mjs:1:7")]
    [InlineData(false, "throw new Error('x\\n    at /etc/passwd:1:1\\n    at f (/etc/shadow:2:2)');", "    at script.js:1:7")]
    [InlineData(true, "const e = new Error('x'); e.stack = 'Error: x\\n    at /etc/passwd:1:1\\n    at module.mjs:1:1'; throw e;", "    at module.mjs:1:1")]
    [InlineData(true, "await 0; throw new TypeError('x\\n    at /etc/passwd:1:1');", "    at module.mjs:1:16")]
    public async Task StackTextHoldsOnlyFramesOfSubmittedDocuments(bool module, string code, string stack)
    {
        var outcome = await AttackAsync(code, module: module);
        OutcomeAssert.Status(OutcomeStatus.ScriptError, outcome);
        Assert.Equal(stack, outcome.Error!.Stack);
    }

    [Fact]
    public async Task AThrownStringCannotPlantFrames()
    {
        var outcome = await AttackAsync("throw 'boom\\n    at /etc/passwd:1:1';");
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", outcome);
        Assert.Equal("", error.Stack);
    }

    [Fact]
    public async Task ConsoleRenderingOfAnErrorDropsPlantedFrames()
    {
        var outcome = await AttackAsync("console.log(new Error('m\\n    at /etc/passwd:1:1')); export default 1;");
        OutcomeAssert.Ok("1", outcome);
        var line = Assert.Single(outcome.Console).Text;
        Assert.DoesNotContain("/etc/passwd", line);
        Assert.Contains("module.mjs:1:13", line);
    }

    [Fact]
    public async Task FramesOfNamedModulesAreKept()
    {
        var outcome = await AttackAsync("import { f } from './lib/a (1).js'; f();",
            new() { ["lib/a (1).js"] = "export function f() {\n  throw new Error('in lib');\n}" });
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", outcome);
        // V8 names a module in a frame by the last segment of its name.
        Assert.Equal("    at f (a (1).js:2:9)\n    at module.mjs:1:37", error.Stack);
    }

    [Fact]
    public async Task ParseErrorsInNamedModulesCarryTheirPosition()
    {
        var outcome = await AttackAsync("import './bad.js'; export default 1;", new() { ["bad.js"] = "export const a = 1;\nexport const = 2;" });
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "SyntaxError", outcome);
        Assert.Equal("    at bad.js:2:14", error.Stack);
    }

    [Fact]
    public async Task LinkErrorsAreScriptErrors()
    {
        var outcome = await AttackAsync("import { nope } from './u.js'; export default nope;", new() { ["u.js"] = "export const yes = 1;" });
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "SyntaxError", outcome);
        Assert.Equal("The requested module './u.js' does not provide an export named 'nope'", error.Message);
    }

    [Fact]
    public async Task ATopLevelAwaitRejectionWithAHugeValueIsAScriptError()
    {
        var outcome = await AttackAsync("await Promise.reject(new Error('E'.repeat(2**24)));");
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", outcome);
        Assert.Equal("[a string of 16777216 characters]", error.Message);
    }

    [Theory]
    [InlineData("/module.mjs")]
    [InlineData("./x/../module.mjs")]
    [InlineData("/")]
    [InlineData("/warden:entry")]
    public async Task NamesThatNormaliseToAReservedNameAreInvalidRequests(string name)
    {
        var outcome = await fx.Sandbox.RunAsync(new Submission { Code = "export default 1", IsModule = true, Modules = new Dictionary<string, string> { [name] = "export default 2" } });
        OutcomeAssert.Status(OutcomeStatus.InvalidRequest, outcome);
    }

    [Fact]
    public async Task EveryAcceptedNameCanBeImported()
    {
        var outcome = await AttackAsync("import a from '/abs.js'; import b from './lib/b.js'; import c from 'bare.js'; export default [a, b, c];",
            new() { ["/abs.js"] = "export default 1;", ["./lib/../lib/b.js"] = "export default 2;", ["bare.js"] = "export default 3;" });
        OutcomeAssert.Ok("[1,2,3]", outcome);
        // Two spellings of one module are one name.
        var duplicate = await fx.Sandbox.RunAsync(new Submission { Code = "export default 1", IsModule = true,
            Modules = new Dictionary<string, string> { ["/a.js"] = "1", ["a.js"] = "2" } });
        OutcomeAssert.Status(OutcomeStatus.InvalidRequest, duplicate);
    }
}
