namespace Warden.Tests.Semantics;

[Collection("sandbox")]
public sealed class ModuleTests(SandboxFixture fx)
{
    [Fact]
    public async Task DefaultExportFunctionIsCalledWithInput()
    {
        OutcomeAssert.Ok("{\"doubled\":42}", await fx.RunAsync("export default function (i) { return { doubled: i.n * 2 } }", input: "{\"n\":21}", module: true));
    }

    [Fact]
    public async Task DefaultExportValueAndTopLevelAwait()
    {
        OutcomeAssert.Ok("[1,null]", await fx.RunAsync("const v = await Promise.resolve(1); export default [v, input]", module: true));
    }

    [Fact]
    public async Task AsyncDefaultExportIsAwaited()
    {
        OutcomeAssert.Ok("\"late\"", await fx.RunAsync("export default async () => { await new Promise(r => setTimeout(r, 5)); return 'late' }", module: true));
    }

    [Fact]
    public async Task TopLevelAwaitThatThrowsIsAScriptError()
    {
        var outcome = await fx.RunAsync("await new Promise(r => setTimeout(r, 5));\nthrow new TypeError('late');\nexport default 1", module: true);
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", outcome);
        Assert.Equal("late", outcome.Error!.Message);
    }

    [Fact]
    public async Task HandledRejectionsDuringTopLevelAwaitAreNotFailures()
    {
        OutcomeAssert.Ok("5", await fx.RunAsync("await null; await Promise.reject(new Error('x')).catch(() => 0); await new Promise(r => setTimeout(r, 10)); export default 5", module: true));
    }

    [Fact]
    public async Task NoDefaultExportGivesNull()
    {
        OutcomeAssert.Ok("null", await fx.RunAsync("export const a = 1;", module: true));
    }

    [Fact]
    public async Task ModuleEvaluationErrorsAreScriptErrors()
    {
        var outcome = await fx.RunAsync("export const a = 1;\nfunction f() { throw new RangeError('in module') }\nf();", module: true);
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", outcome);
        Assert.Equal("in module", outcome.Error!.Message);
        Assert.Contains("module.mjs:2:22", outcome.Error!.Stack);
    }

    [Fact]
    public async Task ModuleSyntaxErrorsCarryLineAndColumn()
    {
        var outcome = await fx.RunAsync("export const a = 1;\nexport default ;", module: true);
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "SyntaxError", outcome);
        Assert.Equal("    at module.mjs:2:16", outcome.Error!.Stack);
    }

    [Theory]
    [InlineData("import fs from 'fs'; export default 1")]
    [InlineData("import x from '/etc/passwd'; export default x")]
    [InlineData("import x from 'file:///etc/hostname'; export default x")]
    [InlineData("export default await import('https://example.com/x.js')")]
    public async Task ImportsCannotReachFilesOrNetwork(string code)
    {
        var outcome = await fx.RunAsync(code, module: true);
        OutcomeAssert.Status(OutcomeStatus.ScriptError, outcome);
        Assert.Contains("Cannot find module", outcome.Error!.Message);
    }

    [Fact]
    public async Task DynamicImportFromAClassicScriptIsConfinedToo()
    {
        var outcome = await fx.RunAsync("import('/etc/hostname')");
        OutcomeAssert.Status(OutcomeStatus.ScriptError, outcome);
        Assert.Contains("Cannot find module", outcome.Error!.Message);
    }
}
