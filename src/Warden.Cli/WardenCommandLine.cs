using System.CommandLine;
using System.CommandLine.Help;
using Warden;

namespace Warden.Cli;

/// <summary>
/// The command line. Whatever happens in `warden run` — bad flags, unreadable files, bad JSON —
/// exactly one outcome JSON object goes to stdout and the exit code follows the outcome's status.
/// Diagnostics go to stderr only.
/// </summary>
internal static class WardenCommandLine
{
    public static Task<int> InvokeAsync(string[] args, Stream stdout, TextWriter stderr, Stream stdin) =>
        InvokeAsync(args, stdout, stderr, stdin, configureSandbox: null);

    /// <param name="args">The command line.</param>
    /// <param name="stdout">Where outcomes and reports go.</param>
    /// <param name="stderr">Where diagnostics go.</param>
    /// <param name="stdin">Where `-` reads from.</param>
    /// <param name="configureSandbox">
    /// Adjusts the options of the sandbox that `run` and `serve` make, after the command line has set them:
    /// how tests offer what no flag does (the test engine).
    /// </param>
    internal static async Task<int> InvokeAsync(string[] args, Stream stdout, TextWriter stderr, Stream stdin, Action<SandboxOptions>? configureSandbox)
    {
        var root = BuildRoot(stdout, stderr, stdin, configureSandbox);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0 && parsed.Action is not HelpAction)
        {
            string message = string.Join("; ", parsed.Errors.Select(e => WithoutDotNetTypeNames(e.Message)));
            return RunCommand.Emit(stdout, Outcome.InvalidRequest("invalid command line: " + message));
        }
        var configuration = new InvocationConfiguration { Output = new StreamWriter(stdout) { AutoFlush = true }, Error = stderr };
        return await parsed.InvokeAsync(configuration).ConfigureAwait(false);
    }

    /// <summary>
    /// System.CommandLine names the .NET type it expected ("as expected type
    /// 'System.Nullable`1[System.Int32]'"): a user reads what kind of value was expected instead.
    /// </summary>
    private static string WithoutDotNetTypeNames(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"as expected type '([^']*)'", m =>
            m.Groups[1].Value.Contains("Int", StringComparison.Ordinal) ? "as a whole number in range"
            : m.Groups[1].Value.Contains("Double", StringComparison.Ordinal) ? "as a number"
            : "as a value of the right kind");

    private static Command BuildRoot(Stream stdout, TextWriter stderr, Stream stdin, Action<SandboxOptions>? configureSandbox)
    {
        // A plain command named "warden" rather than RootCommand, whose name would be the
        // assembly's ("Warden.Cli") in help text, since the launcher runs the dll through dotnet.
        var root = new Command("warden",
            "Warden runs untrusted JavaScript in V8 or QuickJS inside disposable worker processes, under CPU, " +
            "wall-time, memory, output and (QuickJS) fuel limits.\n\nExit codes of `warden run`: ok 0, script_error 1, timeout 2, " +
            "memory_limit 3, output_limit 4, invalid_request 64, internal_error 70.");
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        root.Subcommands.Add(RunCommand.Build(stdout, stderr, stdin, configureSandbox));
        root.Subcommands.Add(DoctorCommand.Build(new StreamWriter(stdout) { AutoFlush = true }));
        root.Subcommands.Add(ServeCommand.Build(stderr, configureSandbox));
        root.Subcommands.Add(KeygenCommand.Build(new StreamWriter(stdout) { AutoFlush = true }));
        return root;
    }
}
