using System.Reflection;
using System.Text.RegularExpressions;
using Warden.Protocol;

namespace Warden.Tests.Isolation;

/// <summary>
/// The prelude and the built-in guards as the worker embeds them: esbuild's bundles of their modules,
/// each wrapped into one strict function with nothing of the bundler left that a script could reach or
/// redirect; and the prelude reporting in the protocol's words, which the host hands it.
/// </summary>
[Collection("sandbox")]
public sealed partial class PreludeBundleTests(SandboxFixture fx)
{
    [Theory]
    [InlineData("Warden.Worker.Prelude.js")]
    [InlineData("Warden.Worker.BuiltinGuards.js")]
    public void TheBundleIsOneStrictFunctionWithNoModuleStatementOrBundlerHelper(string resource)
    {
        string source = EmbeddedScript(resource);

        Assert.StartsWith("(function () {\n'use strict';\n", source, StringComparison.Ordinal);
        Assert.EndsWith("})();\n", source, StringComparison.Ordinal);
        Assert.DoesNotMatch(HelperDeclaration(), source);
        Assert.DoesNotMatch(ModuleStatement(), source);
    }

    [Fact]
    public void ThePreludesCompletionValueIsItsFactory()
    {
        Assert.Matches(ReturnsTheFactory(), EmbeddedScript("Warden.Worker.Prelude.js"));
    }

    [Fact]
    public async Task AResultOverItsLimitIsReportedInTheProtocolsWords()
    {
        // Stopped by the prelude's serialiser (a lower bound of the size passes the limit), not by the bridge.
        var outcome = await fx.RunAsync("'r'.repeat(4 << 20)");

        OutcomeAssert.Status(OutcomeStatus.OutputLimit, outcome);
        Assert.Equal(LimitKind.Result, outcome.Error!.Limit);
        Assert.Equal(WireErrorNames.OutputLimit, outcome.Error.Name);
        Assert.Equal(LimitMessages.ResultTooLarge(fx.Sandbox.Limits.MaxResultBytes), outcome.Error.Message);
    }

    [Fact]
    public async Task AnUncaughtAllocationRefusalIsReportedInTheProtocolsWords()
    {
        var outcome = await fx.RunAsync("new ArrayBuffer(64 << 20); 1", memoryMb: 32);

        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, outcome);
        Assert.Equal(LimitKind.ArrayBuffer, outcome.Error!.Limit);
    }

    [Fact]
    public async Task ATimeoutIsReportedInTheProtocolsWords()
    {
        var outcome = await fx.RunAsync("for (;;) {}", timeoutMs: 300, cpuMs: 10_000);

        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.Equal(WireErrorNames.Timeout, outcome.Error!.Name);
        Assert.Equal(LimitMessages.WallTime(300), outcome.Error.Message);
    }

    private static string EmbeddedScript(string resource)
    {
        var worker = Assembly.LoadFrom(Path.Combine(AppContext.BaseDirectory, "Warden.Worker.dll"));
        using var stream = worker.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{resource} is not embedded in the worker.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    // esbuild's runtime helpers (__name, __export, __toESM, ...) are declared at the bundle's top level.
    [GeneratedRegex(@"^\s*(?:var|let|const|function)\s+__\w+", RegexOptions.Multiline)]
    private static partial Regex HelperDeclaration();

    // A static import or an export left in the output (dynamic import() calls are fine).
    [GeneratedRegex(@"^\s*(?:import\s*[\w{*'""]|export\s)", RegexOptions.Multiline)]
    private static partial Regex ModuleStatement();

    [GeneratedRegex(@"\nreturn [A-Za-z_$][\w$]*;\n\}\)\(\);\n$")]
    private static partial Regex ReturnsTheFactory();
}
