using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using System.Text;
using System.Text.Json;
using Warden.Cli;

namespace Warden.Tests.Cli;

/// <summary>`warden run`, in-process: exactly one outcome JSON object on stdout, whatever the input.</summary>
[Collection("sandbox")]
public sealed class RunCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("warden-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static Task<(int Exit, string Stdout, string Stderr)> RunAsync(string stdin, params string[] args) =>
        RunWithAsync(null, stdin, args);

    /// <summary>The command line with the sandbox's options adjusted as no flag can (the test engine).</summary>
    private static async Task<(int Exit, string Stdout, string Stderr)> RunWithAsync(Action<SandboxOptions>? configureSandbox, string stdin, params string[] args)
    {
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        int exit = await WardenCommandLine.InvokeAsync(args, stdout, stderr, new MemoryStream(Encoding.UTF8.GetBytes(stdin)), configureSandbox);
        return (exit, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    private static JsonElement SingleOutcome(string stdout)
    {
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        var root = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal(["status", "result", "console", "error", "usage", "engine"], root.EnumerateObject().Select(p => p.Name));
        return root;
    }

    [Fact]
    public async Task AnUnparsableNumberNamesNoDotNetType()
    {
        var (exit, stdout, _) = await RunAsync("", "run", Write("n.js", "1"), "--cpu", "99999999999");
        Assert.Equal(64, exit);
        string message = SingleOutcome(stdout).GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("--cpu", message);
        Assert.Contains("whole number", message);
        Assert.DoesNotContain("System.", message);
    }

    [Theory]
    [InlineData("--input-file")]
    [InlineData("FILE")]
    public async Task ADeviceFileIsReadOnlyUpToItsLimit(string which)
    {
        // A device reports a length of 0; reading /dev/zero whole ran the CLI out of memory (attack review).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (exit, stdout, stderr) = which == "FILE"
            ? await RunAsync("", "run", "/dev/zero", "--max-code-bytes", "1000")
            : await RunAsync("", "run", Write("t.js", "1"), "--input-file", "/dev/zero", "--max-input-bytes", "100");
        Assert.Equal(64, exit);
        Assert.Equal("invalid_request", SingleOutcome(stdout).GetProperty("status").GetString());
        Assert.DoesNotContain("Exception", stdout + stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task RunsAScriptAndPrintsOneOutcome()
    {
        var (exit, stdout, _) = await RunAsync("", "run", Write("ok.js", "console.log('hi'); ({ sum: input.a + 1 })"), "--input", "{\"a\":41}");
        Assert.Equal(0, exit);
        var outcome = SingleOutcome(stdout);
        Assert.Equal("ok", outcome.GetProperty("status").GetString());
        Assert.Equal(42, outcome.GetProperty("result").GetProperty("sum").GetInt32());
        Assert.Equal("hi", outcome.GetProperty("console")[0].GetProperty("text").GetString());
        Assert.Equal("v8", outcome.GetProperty("engine").GetString());
        Assert.True(outcome.GetProperty("usage").GetProperty("wallMs").GetDouble() >= 0);
    }

    [Theory]
    [InlineData("throw new Error('x')", 1, "script_error")]
    [InlineData("for(;;){}", 2, "timeout")]
    [InlineData("for(;;) console.log('x'.repeat(1000))", 4, "output_limit")]
    public async Task ExitCodesFollowTheStatus(string code, int expectedExit, string status)
    {
        var (exit, stdout, _) = await RunAsync("", "run", Write("s.js", code), "--timeout", expectedExit == 2 ? "300" : "10000");
        Assert.Equal(expectedExit, exit);
        Assert.Equal(status, SingleOutcome(stdout).GetProperty("status").GetString());
    }

    [Fact]
    public async Task MemoryLimitExitCode()
    {
        var (exit, stdout, _) = await RunAsync("", "run", Write("m.js", "const k = []; for (;;) k.push(new ArrayBuffer(1 << 20))"), "--memory", "32");
        Assert.Equal(3, exit);
        Assert.Equal("memory_limit", SingleOutcome(stdout).GetProperty("status").GetString());
    }

    [Fact]
    public async Task ReadsTheScriptFromStandardInputAndRunsModules()
    {
        var (exit, stdout, _) = await RunAsync("export default (i) => i * 3", "run", "-", "--module", "--input", "5");
        Assert.Equal(0, exit);
        Assert.Equal(15, SingleOutcome(stdout).GetProperty("result").GetInt32());
    }

    [Fact]
    public async Task ReadsInputFromAFile()
    {
        var (exit, stdout, _) = await RunAsync("", "run", Write("i.js", "input.x"), "--input-file", Write("in.json", "{\"x\":[1]}"));
        Assert.Equal(0, exit);
        Assert.Equal("[1]", SingleOutcome(stdout).GetProperty("result").GetRawText());
    }

    public static TheoryData<string[]> BadCommandLines => new()
    {
        { ["run"] },
        { ["run", "a.js", "--bogus"] },
        { ["run", "a.js", "--timeout", "abc"] },
        { ["run", "a.js", "--timeout", "99999999999"] },
        { ["run", "a.js", "--timeout", "-5"] },
        { ["run", "a.js", "--timeout", "0"] },
        { ["run", "a.js", "--memory", "999999"] },
        { ["run", "a.js", "--memory", "1"] },
        { ["run", "a.js", "--cpu", "-1"] },
        { ["run", "a.js", "--fuel", "1000"] },
        { ["run", "a.js", "--engine", "quickjs", "--fuel", "0"] },
        { ["run", "a.js", "--engine", "quickjs", "--fuel", "-1"] },
        { ["run", "a.js", "--engine", "quickjs", "--fuel", "1.5"] },
        { ["run", "a.js", "--engine", "quickjs", "--fuel", "1e13"] },
        { ["run", "a.js", "--engine", "quickjs", "--fuel", "10000000000000"] },
        { ["run", "a.js", "--engine", "quickjs", "--fuel", "lots"] },
        { ["run", "a.js", "--input", "{bad"] },
        { ["run", "a.js", "--input", "1", "--input-file", "x.json"] },
        { ["run", "a.js", "--input-file", "/nonexistent/in.json"] },
        { ["run", "/nonexistent/script.js"] },
        { ["run", "/tmp"] },
        { ["frobnicate"] },
        { [] },
    };

    [Theory]
    [MemberData(nameof(BadCommandLines))]
    public async Task BadCommandLinesAreInvalidRequests(string[] args)
    {
        // Relative "a.js" resolves against the test's working directory: create it there.
        string script = Write("a.js", "1");
        var rewritten = args.Select(a => a == "a.js" ? script : a).ToArray();
        var (exit, stdout, stderr) = await RunAsync("", rewritten);
        Assert.Equal(64, exit);
        var outcome = SingleOutcome(stdout);
        Assert.Equal("invalid_request", outcome.GetProperty("status").GetString());
        Assert.False(string.IsNullOrWhiteSpace(outcome.GetProperty("error").GetProperty("message").GetString()));
        Assert.DoesNotContain("   at ", stdout);
        Assert.DoesNotContain("Exception", stdout + stderr);
    }

    [Fact]
    public async Task BinaryFilesAreInvalidRequests()
    {
        string binary = Path.Combine(_directory, "junk.bin");
        File.WriteAllBytes(binary, [0x7F, 0x45, 0x4C, 0x46, 0x00, 0xFF, 0xFE, 0x80]);
        string badUtf8 = Path.Combine(_directory, "latin1.js");
        File.WriteAllBytes(badUtf8, [0x27, 0xE9, 0x27]);
        foreach (var file in new[] { binary, badUtf8 })
        {
            var (exit, stdout, _) = await RunAsync("", "run", file);
            Assert.Equal(64, exit);
            Assert.Equal("invalid_request", SingleOutcome(stdout).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task AnEngineNamedRunsTheScriptAndTheOutcomeSaysWhich()
    {
        var (exit, stdout, _) = await RunAsync("", "run", Write("e.js", "6 * 7"), "--engine", "v8");
        Assert.Equal(0, exit);
        var outcome = SingleOutcome(stdout);
        Assert.Equal(42, outcome.GetProperty("result").GetInt32());
        Assert.Equal("v8", outcome.GetProperty("engine").GetString());
    }

    [Fact]
    public async Task AllowFetchGrantsExactlyTheOriginsNamed()
    {
        await using var server = await CountingServer.StartAsync(c => c.Response.WriteAsync("from the server"));
        await using var other = await CountingServer.StartAsync(c => c.Response.WriteAsync("never"));
        string script = Write("f.js", $$"""
            (async () => [await (await fetch('{{server.Origin}}/a')).text(),
              await fetch('{{other.Origin}}/b').then(() => 'fetched', (e) => e.name)])()
            """);
        foreach (var engine in new[] { "v8", "quickjs" })
        {
            var (exit, stdout, _) = await RunAsync("", "run", script, "--engine", engine, "--allow-fetch", server.Origin, "--allow-fetch", server.Origin + "/");
            Assert.Equal(0, exit);
            Assert.Equal("[\"from the server\",\"TypeError\"]", SingleOutcome(stdout).GetProperty("result").GetRawText());
        }
        Assert.Equal(2, server.Count);
        Assert.Equal(0, other.Count);
        // Without the flag there is no fetch; a flag that could never be safe is an invalid request naming it.
        var (_, noFlag, _) = await RunAsync("", "run", Write("t.js", "typeof fetch"));
        Assert.Equal("\"undefined\"", SingleOutcome(noFlag).GetProperty("result").GetRawText());
        var (badExit, bad, _) = await RunAsync("", "run", script, "--allow-fetch", "http://localhost:8080");
        Assert.Equal(64, badExit);
        Assert.Contains("--allow-fetch", SingleOutcome(bad).GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task QuickJsRunsFromTheCommandLineWithItsFuel()
    {
        var (exit, stdout, _) = await RunAsync("", "run", Write("q.js", "6 * 7"), "--engine", "quickjs");
        Assert.Equal(0, exit);
        var outcome = SingleOutcome(stdout);
        Assert.Equal(42, outcome.GetProperty("result").GetInt32());
        Assert.Equal("quickjs", outcome.GetProperty("engine").GetString());
        Assert.True(outcome.GetProperty("usage").GetProperty("fuel").GetInt64() > 0);

        (exit, stdout, _) = await RunAsync("", "run", Write("q.js", "while (true) {}"), "--engine", "quickjs", "--fuel", "1000000");
        Assert.Equal(2, exit);
        outcome = SingleOutcome(stdout);
        Assert.Equal("fuel", outcome.GetProperty("error").GetProperty("limit").GetString());
        Assert.Equal(1_000_000, outcome.GetProperty("usage").GetProperty("fuel").GetInt64());
    }

    [Fact]
    public async Task AnEngineTheSandboxDoesNotOfferIsAnInvalidRequestNamingTheOnesItDoes()
    {
        var (exit, stdout, _) = await RunAsync("", "run", Write("e.js", "1"), "--engine", "spidermonkey");
        Assert.Equal(64, exit);
        var error = SingleOutcome(stdout).GetProperty("error");
        Assert.Equal("engine 'spidermonkey' is not available; this sandbox offers: v8, quickjs", error.GetProperty("message").GetString());
        // The test engine exists only where the sandbox is told to offer it: never from the command line alone.
        (exit, stdout, _) = await RunAsync("", "run", Write("e.js", "1"), "--engine", "test");
        Assert.Equal(64, exit);
        Assert.Equal("engine 'test' is not available; this sandbox offers: v8, quickjs", SingleOutcome(stdout).GetProperty("error").GetProperty("message").GetString());
        (exit, stdout, _) = await RunWithAsync(o => o.EnableTestEngine = true, "", "run", Write("e.js", "1"), "--engine", "spidermonkey");
        Assert.Equal(64, exit);
        Assert.Equal("engine 'spidermonkey' is not available; this sandbox offers: v8, quickjs, test", SingleOutcome(stdout).GetProperty("error").GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("1000", "v8", "limits.fuel: fuel is counted only by the quickjs engine (this submission runs on v8)")]
    [InlineData("0", "quickjs", "limits.fuel must be between 1 and 1000000000000")]
    [InlineData("1000000000001", "quickjs", "limits.fuel must be between 1 and 1000000000000")]
    public async Task FuelOutOfRangeOrOnV8IsAnInvalidRequestNamingTheField(string fuel, string engine, string message)
    {
        var (exit, stdout, _) = await RunAsync("", "run", Write("f.js", "1"), "--engine", engine, "--fuel", fuel);
        Assert.Equal(64, exit);
        var outcome = SingleOutcome(stdout);
        Assert.Equal(message, outcome.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(engine, outcome.GetProperty("engine").GetString());
    }

    [Fact]
    public async Task FuelThatIsNotAWholeNumberNamesTheFlag()
    {
        var (exit, stdout, _) = await RunAsync("", "run", Write("f.js", "1"), "--engine", "quickjs", "--fuel", "1.5");
        Assert.Equal(64, exit);
        string message = SingleOutcome(stdout).GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("--fuel", message);
        Assert.Contains("whole number", message);
    }

    [Fact]
    public async Task QuickJsInTheSandboxsWarmContextsIsRefused()
    {
        // No flag chooses the isolation unit: the sandbox's options can, and quickjs has no warm mode.
        var (exit, stdout, _) = await RunWithAsync(o => o.IsolationUnit = IsolationUnit.Context, "", "run", Write("q.js", "1"), "--engine", "quickjs");
        Assert.Equal(64, exit);
        Assert.Equal("isolationUnit Context is not available on engine quickjs (it runs a fresh VM per execution)",
            SingleOutcome(stdout).GetProperty("error").GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("run", "--help")]
    public async Task HelpIsCompleteAndExitsZero(params string[] args)
    {
        var (exit, stdout, _) = await RunAsync("", args);
        Assert.Equal(0, exit);
        Assert.Contains(args.Length == 1 ? "run" : "--timeout", stdout);
        if (args.Length == 2)
        {
            foreach (var option in new[] { "--input", "--input-file", "--timeout", "--cpu", "--memory", "--fuel", "--engine", "quickjs", "--module", "FILE" })
            {
                Assert.Contains(option, stdout);
            }
        }
    }

    [Fact]
    public async Task TheLauncherAtTheRepositoryRootWorks()
    {
        string root = RepositoryPaths.Root();
        var info = new ProcessStartInfo(Path.Combine(root, "warden")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "run", Write("l.js", "[1, 2].map(x => x * 2)") })
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(5)), "launcher did not finish");
        Assert.Equal(0, process.ExitCode);
        Assert.Equal("[2,4]", SingleOutcome(await stdout).GetProperty("result").GetRawText());
        _ = await stderr;
    }
}
