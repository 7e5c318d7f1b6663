using System.Diagnostics;

namespace Warden.Tests.WebApis;

/// <summary>
/// The script-side fetch (WebApis/src/fetch.js) against Node's own Headers, Request and Response (undici, a Fetch
/// Standard implementation) and a fake host: header order and combination, validation, the body mixin, the redirect
/// rules and base64 of every byte, by <c>test/fetch-check.mjs</c> with the bundle's own URL, Blob and AbortSignal.
/// End to end through both engines: FetchTests.
/// </summary>
public sealed class FetchApiCheckTests
{
    [Fact]
    public async Task TheScriptSideAgreesWithNodesFetchClassesAndTheRedirectRules()
    {
        string webApis = Path.Combine(RepositoryPaths.Root(), "src", "Warden.Worker", "WebApis");
        string bundle = Path.Combine(Path.GetTempPath(), $"warden-bundle-{Guid.NewGuid():n}.js");
        try
        {
            var (buildExit, buildOutput) = await RunNodeAsync(webApis, null, "build.mjs", bundle);
            Assert.True(buildExit == 0, buildOutput);
            var (exit, output) = await RunNodeAsync(webApis, bundle, "test/fetch-check.mjs");
            Assert.True(exit == 0, output);
            Assert.Matches(@"\n\d+ passed", output);
        }
        finally
        {
            File.Delete(bundle);
        }
    }

    private static async Task<(int Exit, string Output)> RunNodeAsync(string directory, string? bundle, params string[] args)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        if (bundle is not null)
        {
            start.Environment["WARDEN_BUNDLE"] = bundle;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
