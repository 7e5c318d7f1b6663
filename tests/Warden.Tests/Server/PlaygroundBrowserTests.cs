using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace Warden.Tests.Server;

/// <summary>
/// The playground page in a real browser: headless Chromium (Debian's chromium package) driven by puppeteer-core
/// (tests/playground/drive.mjs) against the real service on a loopback port. It loads the page, types a script and its
/// input, presses Run and sees the result; runs an endless loop under a 300 ms timeout with Ctrl+Enter and sees the
/// limit error; runs on quickjs with fuel; and fails on any console error, page error, failed request or CSP violation.
/// Screenshots are kept in TestResults/ beside the test assembly. Chromium missing is a failure naming the command
/// (scripts/ensure-browser.sh installs it), never a skip.
/// </summary>
[Collection("sandbox")]
public sealed class PlaygroundBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ThePageRunsAScriptAndShowsItsResultAndALimitError() => await DriveAsync(apiKey: null);

    [Fact]
    public async Task WithKeysThePageAsksForOneAndKeepsItForTheTabOnly()
    {
        // The driver first runs without the key (the page shows the 401), then types it; every later run uses it.
        var (token, sha256) = Warden.Server.ApiKeyAuthenticator.NewKey();
        await DriveAsync(token, o => o.ApiKeys = [new Warden.Server.ApiKeyOptions { Name = "browser", Sha256 = sha256 }]);
    }

    private async Task DriveAsync(string? apiKey, Action<Warden.Server.ServerOptions>? server = null)
    {
        string chromium = Environment.GetEnvironmentVariable("CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        Assert.True(File.Exists(chromium),
            $"Chromium is missing ({chromium}): install it with `sudo apt-get install -y chromium` "
            + "(or `source scripts/ensure-browser.sh; warden_ensure_browser` as root), or set CHROMIUM to its path.");
        string driver = Path.Combine(RepositoryRoot(), "tests", "playground");
        await EnsurePuppeteerAsync(driver, output);

        var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 2, server);
        try
        {
            string screenshots = Path.Combine(AppContext.BaseDirectory, "TestResults");
            string[] arguments = ["drive.mjs", client.BaseAddress!.ToString(), chromium, screenshots, .. apiKey is null ? Array.Empty<string>() : [apiKey]];
            var (exitCode, stdout, stderr) = await RunAsync("node", arguments, driver, TimeSpan.FromMinutes(3));
            output.WriteLine(stdout);
            output.WriteLine(stderr);
            string last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
            Assert.True(exitCode == 0 && last.StartsWith('{'), $"the driver failed (exit {exitCode}):\n{stdout}\n{stderr}");
            var report = JsonDocument.Parse(last).RootElement;
            Assert.True(report.GetProperty("ok").GetBoolean(), string.Join("\n", report.GetProperty("failures").EnumerateArray().Select(f => f.GetString())));
            foreach (var shot in report.GetProperty("screenshots").EnumerateArray().Select(s => s.GetString()!))
            {
                byte[] png = await File.ReadAllBytesAsync(shot);
                Assert.True(png.Length > 10_000 && png.AsSpan(0, 8).SequenceEqual((byte[])[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]), $"{shot} is not a screenshot");
                output.WriteLine($"screenshot: {shot}");
            }
        }
        finally
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>puppeteer-core as tests/playground/package-lock.json pins it: `npm ci` when it is missing or another version.</summary>
    internal static async Task EnsurePuppeteerAsync(string driver, ITestOutputHelper output)
    {
        string wanted = JsonDocument.Parse(File.ReadAllText(Path.Combine(driver, "package.json"))).RootElement
            .GetProperty("devDependencies").GetProperty("puppeteer-core").GetString()!;
        string installed = Path.Combine(driver, "node_modules", "puppeteer-core", "package.json");
        if (File.Exists(installed) && JsonDocument.Parse(File.ReadAllText(installed)).RootElement.GetProperty("version").GetString() == wanted)
        {
            return;
        }
        var (exitCode, stdout, stderr) = await RunAsync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], driver, TimeSpan.FromMinutes(5));
        output.WriteLine($"npm ci in {driver}: exit {exitCode}");
        Assert.True(exitCode == 0, $"npm ci in {driver} failed (exit {exitCode}); Node.js and npm are needed "
            + $"(`sudo apt-get install -y nodejs npm`):\n{stdout}\n{stderr}");
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Warden.sln")) && Directory.Exists(Path.Combine(dir.FullName, "tests", "playground")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No repository (Warden.sln with tests/playground) above {AppContext.BaseDirectory}.");
    }

    internal static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string program, string[] arguments, string directory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{program} could not be started ({e.Message}): install it with `sudo apt-get install -y nodejs npm`.", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                return (-1, await stdout, await stderr + $"\n(killed after {timeout})");
            }
            return (process.ExitCode, await stdout, await stderr);
        }
    }
}
