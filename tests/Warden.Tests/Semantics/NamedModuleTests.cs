using Warden.Protocol;

namespace Warden.Tests.Semantics;

/// <summary>A submission's named ES modules: imported by name or relative path, from memory only.</summary>
[Collection("sandbox")]
public sealed class NamedModuleTests(SandboxFixture fx)
{
    private Task<Outcome> RunAsync(string entry, Dictionary<string, string> modules) =>
        fx.Sandbox.RunAsync(new Submission { Code = entry, IsModule = true, Modules = modules });

    [Fact]
    public async Task TheEntryImportsModulesByNameAndByRelativePath()
    {
        var outcome = await RunAsync(
            "import { add } from 'math.js'; import { twice } from './lib/twice.js'; export default twice(add(1, 2));",
            new()
            {
                ["math.js"] = "export const add = (a, b) => a + b;",
                ["lib/twice.js"] = "import { add } from '../math.js'; export const twice = (x) => add(x, x);",
            });
        OutcomeAssert.Ok("6", outcome);
    }

    [Fact]
    public async Task AModuleImportedTwiceIsEvaluatedOnce()
    {
        var outcome = await RunAsync(
            "import { a } from './a.js'; import { b } from './b.js'; export default [a, b, globalThis.evaluations];",
            new()
            {
                ["shared.js"] = "globalThis.evaluations = (globalThis.evaluations ?? 0) + 1; export const value = 7;",
                ["a.js"] = "import { value } from './shared.js'; export const a = value;",
                ["./b.js"] = "import { value } from '/shared.js'; export const b = value * 2;",
            });
        OutcomeAssert.Ok("[7,14,1]", outcome);
    }

    [Fact]
    public async Task DynamicImportAndCyclesWork()
    {
        var outcome = await RunAsync(
            "const { ping } = await import('./ping.js'); export default ping(3);",
            new()
            {
                ["ping.js"] = "import { pong } from './pong.js'; export function ping(n) { return n === 0 ? 'done' : pong(n - 1); }",
                ["pong.js"] = "import { ping } from './ping.js'; export function pong(n) { return ping(n); }",
            });
        OutcomeAssert.Ok("\"done\"", outcome);
    }

    [Theory]
    [InlineData("import x from 'missing.js'; export default x;")]
    [InlineData("import x from '/etc/passwd'; export default x;")]
    [InlineData("import x from 'file:///etc/passwd'; export default x;")]
    [InlineData("import x from '../../../../etc/hostname'; export default x;")]
    [InlineData("import x from 'https://example.com/x.js'; export default x;")]
    [InlineData("export default await import('node:fs');")]
    public async Task NothingOutsideTheSubmissionCanBeImported(string entry)
    {
        var outcome = await RunAsync(entry, new() { ["ok.js"] = "export default 1;" });
        Assert.Equal(OutcomeStatus.ScriptError, outcome.Status);
        Assert.Contains("Cannot find module", outcome.Error!.Message);
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task BadModuleSetsAreInvalidRequests()
    {
        var classic = await fx.Sandbox.RunAsync(new Submission { Code = "1", Modules = new Dictionary<string, string> { ["a.js"] = "1" } });
        Assert.Equal(OutcomeStatus.InvalidRequest, classic.Status);
        Assert.StartsWith("modules needs module mode", classic.Error!.Message);

        Assert.Equal(OutcomeStatus.InvalidRequest, (await RunAsync("export default 1", new() { ["module.mjs"] = "1" })).Status);
        Assert.Equal(OutcomeStatus.InvalidRequest, (await RunAsync("export default 1", new() { ["warden:entry"] = "1" })).Status);
        Assert.Equal(OutcomeStatus.InvalidRequest, (await RunAsync("export default 1", new() { [""] = "1" })).Status);
        // Two spellings of one name: refused rather than letting the last one silently win.
        Assert.Equal(OutcomeStatus.InvalidRequest, (await RunAsync("export default 1", new() { ["a.js"] = "1", ["./a.js"] = "2" })).Status);
        var many = Enumerable.Range(0, 65).ToDictionary(i => $"m{i}.js", _ => "export default 1;");
        Assert.Equal(OutcomeStatus.InvalidRequest, (await RunAsync("export default 1", many)).Status);
        var huge = new Dictionary<string, string> { ["a.js"] = new string('x', 600_000), ["b.js"] = new string('y', 600_000) };
        var tooBig = await RunAsync("export default 1", huge);
        Assert.Equal(OutcomeStatus.InvalidRequest, tooBig.Status);
        Assert.Contains("MaxCodeBytes", tooBig.Error!.Message);
    }

    [Fact]
    public async Task AnErrorInAnImportedModuleIsAScriptError()
    {
        var outcome = await RunAsync("import './bad.js'; export default 1;", new() { ["bad.js"] = "throw new RangeError('from bad');" });
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", outcome);
        var syntax = await RunAsync("import './broken.js'; export default 1;", new() { ["broken.js"] = "export const = ;" });
        Assert.Equal(OutcomeStatus.ScriptError, syntax.Status);
    }

    [Theory]
    [InlineData("module.mjs", "./a.js", "a.js")]
    [InlineData("lib/x.js", "./y.js", "lib/y.js")]
    [InlineData("lib/x.js", "../y.js", "y.js")]
    [InlineData("lib/x.js", "../../../y.js", "y.js")]
    [InlineData("lib/x.js", "/z/y.js", "z/y.js")]
    [InlineData("lib/x.js", "bare-name", "bare-name")]
    [InlineData("lib/x.js", "./a/./b/../c.js", "lib/a/c.js")]
    public void SpecifiersResolveLikeUrlPathsWithinTheRoot(string importer, string specifier, string expected)
    {
        Assert.Equal(expected, ModuleNames.Resolve(importer, specifier));
    }
}
