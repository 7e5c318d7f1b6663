using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Warden.Cli;

namespace Warden.Tests.Cli;

/// <summary>`warden run --modules DIR` (named modules from a directory, links refused) and `--format pretty`.</summary>
[Collection("sandbox")]
public sealed class RunModulesAndFormatTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("warden-cli-modules-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string relative, string text)
    {
        string path = Path.Combine(_directory, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        int exit = await WardenCommandLine.InvokeAsync(args, stdout, stderr, new MemoryStream());
        return (exit, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    private static JsonElement Outcome(string stdout) => JsonDocument.Parse(stdout.Trim()).RootElement;

    private string EntryImportingTheTree() =>
        Write("app/main.mjs", """
            import { add } from './lib/math.js';
            import greet from './greet.mjs';
            export default (input) => ({ sum: add(input.a, input.b), greeting: greet('you') });
            """);

    [Fact]
    public async Task ModulesFromADirectoryResolveAsABrowserServingItWould()
    {
        string entry = EntryImportingTheTree();
        Write("app/lib/math.js", "import { twice } from '../util/twice.js'; export const add = (a, b) => twice(a + b) / 2;");
        Write("app/util/twice.js", "export const twice = (n) => n * 2;");
        Write("app/greet.mjs", "export default (n) => `hi ${n}`;");
        Write("app/README.md", "not a module");
        Write("app/.git/hooks/x.js", "syntax error here (");

        var (exit, stdout, _) = await RunAsync("run", entry, "--module", "--modules", Path.Combine(_directory, "app"), "--input", "{\"a\":1,\"b\":2}");

        Assert.Equal(0, exit);
        var outcome = Outcome(stdout);
        Assert.Equal("ok", outcome.GetProperty("status").GetString());
        Assert.Equal(3, outcome.GetProperty("result").GetProperty("sum").GetInt32());
        Assert.Equal("hi you", outcome.GetProperty("result").GetProperty("greeting").GetString());
    }

    [Theory]
    [InlineData("file")]
    [InlineData("directory")]
    public async Task ASymbolicLinkIsRefusedSoNoFileOutsideTheDirectoryReachesTheScript(string kind)
    {
        // The attack: an untrusted directory with util.js -> a secret of the user running warden.
        string secret = Path.Combine(_directory, "secret.txt");
        File.WriteAllText(secret, "export default 'the operator secret';");
        string entry = Write("app/main.mjs", "import s from './lib/util.js'; export default s;");
        Directory.CreateDirectory(Path.Combine(_directory, "app"));
        if (kind == "file")
        {
            Directory.CreateDirectory(Path.Combine(_directory, "app/lib"));
            File.CreateSymbolicLink(Path.Combine(_directory, "app/lib/util.js"), secret);
        }
        else
        {
            Write("outside/util.js", "export default 'the operator secret';");
            Directory.CreateSymbolicLink(Path.Combine(_directory, "app/lib"), Path.Combine(_directory, "outside"));
        }

        var (exit, stdout, _) = await RunAsync("run", entry, "--module", "--modules", Path.Combine(_directory, "app"));

        Assert.Equal(64, exit);
        var outcome = Outcome(stdout);
        Assert.Equal("invalid_request", outcome.GetProperty("status").GetString());
        Assert.Contains("symbolic link", outcome.GetProperty("error").GetProperty("message").GetString());
        Assert.DoesNotContain("operator secret", stdout);
    }

    [Fact]
    public async Task AFifoNamedLikeAModuleDoesNotHangTheCommand()
    {
        string entry = Write("app/main.mjs", "export default 1;");
        string fifo = Path.Combine(_directory, "app/pipe.js");
        using (var mkfifo = Process.Start("mkfifo", fifo))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        var clock = Stopwatch.StartNew();

        var (exit, stdout, _) = await RunAsync("run", entry, "--module", "--modules", Path.Combine(_directory, "app"));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        Assert.Equal(0, exit);
        Assert.Equal("ok", Outcome(stdout).GetProperty("status").GetString());
    }

    [Fact]
    public async Task ModulesCountAgainstTheCodeLimitAndTheModuleCount()
    {
        string entry = Write("big/main.mjs", "export default 1;");
        Write("big/large.js", "// " + new string('x', 5000));
        var (exit, stdout, _) = await RunAsync("run", entry, "--module", "--modules", Path.Combine(_directory, "big"), "--max-code-bytes", "4096");
        Assert.Equal(64, exit);
        Assert.Contains("MaxCodeBytes", Outcome(stdout).GetProperty("error").GetProperty("message").GetString());

        string many = Write("many/main.mjs", "export default 1;");
        for (int i = 0; i <= Submission.MaxModules; i++)
        {
            Write($"many/m{i}.js", "export default 1;");
        }
        (exit, stdout, _) = await RunAsync("run", many, "--module", "--modules", Path.Combine(_directory, "many"));
        Assert.Equal(64, exit);
        Assert.Contains($"more than {Submission.MaxModules} modules", Outcome(stdout).GetProperty("error").GetProperty("message").GetString());
    }

    [Theory]
    [InlineData(false, "missing", "does not exist")]
    [InlineData(true, "app", "needs --module")]
    public async Task ABadModulesDirectoryIsAnInvalidRequest(bool entryOnly, string directory, string expected)
    {
        string entry = Write("app/main.mjs", "export default 1;");
        var args = new List<string> { "run", entry, "--modules", Path.Combine(_directory, directory) };
        if (!entryOnly)
        {
            args.Add("--module");
        }
        var (exit, stdout, _) = await RunAsync([.. args]);
        Assert.Equal(64, exit);
        Assert.Contains(expected, Outcome(stdout).GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task PrettyFormatShowsStatusResultAndConsoleByLevel()
    {
        string script = Write("p.js", "console.log('plain'); console.warn('two\\nlines'); ({ answer: 42, name: 'wörld' })");

        var (exit, stdout, _) = await RunAsync("run", script, "--format", "pretty");

        Assert.Equal(0, exit);
        var lines = stdout.Split('\n');
        Assert.StartsWith("ok  (v8, ", lines[0]);
        Assert.Contains("\"answer\": 42", stdout);
        Assert.Contains("wörld", stdout);
        Assert.Contains("  [log]  plain", lines);
        Assert.Contains("  [warn] two", lines);
        Assert.Contains("         lines", lines);
    }

    [Fact]
    public async Task PrettyFormatShowsTheLimitAndKeepsTheExitCode()
    {
        var (exit, stdout, _) = await RunAsync("run", Write("t.js", "for(;;){}"), "--timeout", "200", "--format", "pretty");
        Assert.Equal(2, exit);
        Assert.StartsWith("timeout  (v8, ", stdout);
        Assert.Matches(@"error: \w+: .*\[limit: (wall|cpu)\]", stdout);
    }

    [Fact]
    public async Task PrettyFormatNeverWritesTheScriptsControlCharactersToTheTerminal()
    {
        // The attack: escape sequences (clear screen, title, hyperlinks) and bidi overrides in console text,
        // error message and stack, aimed at the terminal of whoever reads the output.
        string script = Write("esc.js", """
            console.log('a\u001b[2J\u001b]0;owned\u0007b\u202Ec\rd');
            throw new Error('boom\u001b[31m');
            """);

        var (exit, stdout, _) = await RunAsync("run", script, "--format", "pretty");

        Assert.Equal(1, exit);
        Assert.DoesNotContain('\u001b', stdout);
        Assert.DoesNotContain('\u0007', stdout);
        Assert.DoesNotContain('\u202E', stdout);
        Assert.DoesNotContain('\r', stdout);
        Assert.Contains(@"a\u001b[2J\u001b]0;owned\u0007b\u202ec\u000dd", stdout);
        Assert.Contains(@"boom\u001b[31m", stdout);
    }

    [Fact]
    public async Task AnUnknownFormatIsAnInvalidRequest()
    {
        var (exit, stdout, _) = await RunAsync("run", Write("f.js", "1"), "--format", "xml");
        Assert.Equal(64, exit);
        Assert.Contains("pretty", Outcome(stdout).GetProperty("error").GetProperty("message").GetString());
    }
}
