using System.Text.Json;
using Xunit.Abstractions;

namespace Warden.Tests.Server;

/// <summary>
/// Hostile outcomes against the playground page in headless Chromium (tests/playground/attack.mjs): markup in console
/// lines, error names, messages and stacks; CSS and stylesheet links; a result whose JSON carries <c>__proto__</c> and
/// <c>constructor.prototype</c>; the most console output and result the server allows, and more; a deeply nested and a
/// wide result. The page must render text only, run nothing injected, keep <c>Object.prototype</c> clean, stay
/// responsive, and raise no page error or CSP violation. Chromium missing is a failure, as in PlaygroundBrowserTests.
/// </summary>
[Collection("sandbox")]
public sealed class PlaygroundBrowserAttackTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HostileOutcomesStayTextAndTheTabStaysResponsive()
    {
        string chromium = Environment.GetEnvironmentVariable("CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), $"Chromium is missing ({chromium}): see PlaygroundBrowserTests.");
        string driver = Path.Combine(PlaygroundBrowserTests.RepositoryRoot(), "tests", "playground");
        await PlaygroundBrowserTests.EnsurePuppeteerAsync(driver, output);

        var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 2);
        try
        {
            var (exitCode, stdout, stderr) = await PlaygroundBrowserTests.RunAsync("node", ["attack.mjs", client.BaseAddress!.ToString(), chromium],
                driver, TimeSpan.FromMinutes(5));
            output.WriteLine(stdout);
            output.WriteLine(stderr);
            string last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
            Assert.True(last.StartsWith('{'), $"the driver failed (exit {exitCode}):\n{stdout}\n{stderr}");
            var report = JsonDocument.Parse(last).RootElement;
            Assert.True(report.GetProperty("ok").GetBoolean() && exitCode == 0,
                string.Join("\n", report.GetProperty("failures").EnumerateArray().Select(f => f.GetString())) + "\n" + report.GetProperty("timings"));
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
