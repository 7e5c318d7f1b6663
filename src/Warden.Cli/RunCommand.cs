using System.CommandLine;
using System.Text;
using Microsoft.Extensions.Logging;
using Warden;

namespace Warden.Cli;

/// <summary>`warden run FILE|-`: one script, one worker, one outcome JSON object on stdout.</summary>
internal static class RunCommand
{
    public static Command Build(Stream stdout, TextWriter stderr, Stream stdin, Action<SandboxOptions>? configureSandbox = null)
    {
        var defaults = new SandboxLimits();
        var file = new Argument<string>("FILE") { Description = "The script to run, or - to read it from standard input." };
        var input = new Option<string?>("--input") { Description = "Input as JSON text; the script sees it as the global `input` (null when absent)." , HelpName = "JSON" };
        var inputFile = new Option<string?>("--input-file") { Description = "Read the input JSON from a file instead.", HelpName = "F" };
        var timeout = new Option<int?>("--timeout") { Description = $"Wall-clock limit in ms, from the start of the execution [default: {defaults.DefaultTimeoutMs}; max: {SandboxLimits.AbsoluteMaxTimeoutMs}].", HelpName = "MS" };
        var cpu = new Option<int?>("--cpu") { Description = "CPU-time limit of the script thread in ms [default: the timeout].", HelpName = "MS" };
        var memory = new Option<int?>("--memory") { Description = $"The execution's memory budget in MB: heap, ArrayBuffers and the engine's off-heap memory together; the worker grows by at most 1.25 x this + 64 MB [default: {defaults.DefaultMemoryMb}; range: {SandboxLimits.MinMemoryMb}-{SandboxLimits.AbsoluteMaxMemoryMb}].", HelpName = "MB" };
        var fuel = new Option<long?>("--fuel") { Description = $"Fuel budget of a quickjs execution: about one WebAssembly instruction of the QuickJS interpreter a unit (~5e9 a second); running out is a timeout with error.limit fuel. Refused on v8 [default: no fuel limit; range: 1-{SandboxLimits.AbsoluteMaxFuel}].", HelpName = "N" };
        var limitFlags = LimitFlag.All(defaults);
        var module = new Option<bool>("--module") { Description = "Run the file as an ES module; its default export (called with `input` if it is a function) is the result." };
        var modules = new Option<string?>("--modules")
        {
            Description = $"With --module: the .js and .mjs files under this directory are modules the entry may import by path, as a browser serving the directory would resolve them (DIR/lib/x.js is ./lib/x.js). Regular files only (a symbolic link is refused); hidden entries are skipped; at most {Submission.MaxModules}, counted in --max-code-bytes with the entry.",
            HelpName = "DIR",
        };
        var format = new Option<string>("--format")
        {
            Description = "json: one outcome JSON object, for programs (the default). pretty: status, result, console and error laid out for people (not a stable format).",
            HelpName = "json|pretty",
            DefaultValueFactory = _ => "json",
        };
        format.AcceptOnlyFromAmong("json", "pretty");
        var isolation = IsolationOption.Create();
        var allowFetch = new Option<string[]>("--allow-fetch")
        {
            Description = "Let the script fetch this origin (scheme://host[:port]); repeatable. The host makes each request, one redirect hop at a time, only to granted origins; a hostname that resolves to a loopback, private or link-local address is refused (grant the IP literal, e.g. http://127.0.0.1:8080, to reach a local service). Without it the script has no fetch.",
            HelpName = "ORIGIN",
            AllowMultipleArgumentsPerToken = false,
        };
        var engine = new Option<string?>("--engine") { Description = "The engine to run the script: v8 or quickjs (QuickJS in WebAssembly: exact memory, deterministic fuel) [default: v8]. One the sandbox does not offer is an invalid_request naming those it does.", HelpName = "NAME" };

        var command = new Command("run",
            "Run one script in a fresh worker and print its outcome as one JSON object on stdout:\n" +
            "{ status, result, console, error, usage, engine }. The exit code follows the status.")
        {
            file, input, inputFile, timeout, cpu, memory, fuel, module, modules, engine, isolation, allowFetch, format,
        };
        foreach (var flag in limitFlags)
        {
            command.Options.Add(flag.Option);
        }
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new RunRequest(
                parse.GetValue(file)!, parse.GetValue(input), parse.GetValue(inputFile),
                parse.GetValue(timeout), parse.GetValue(cpu), parse.GetValue(memory), parse.GetValue(module),
                IsolationOption.Parse(parse.GetValue(isolation)), parse.GetValue(engine))
            {
                Fuel = parse.GetValue(fuel),
                ModulesDirectory = parse.GetValue(modules),
                FetchOrigins = parse.GetValue(allowFetch) ?? [],
                Limits = limitFlags.Where(f => parse.GetValue(f.Option) is not null)
                    .Select(f => new LimitSetting(f.Option.Name, f.Apply, parse.GetValue(f.Option)!.Value)).ToList(),
            };
            var outcome = await RunAsync(request, stderr, stdin, cancellationToken, configureSandbox).ConfigureAwait(false);
            return parse.GetValue(format) == "pretty" ? EmitPretty(stdout, outcome) : Emit(stdout, outcome);
        });
        return command;
    }

    internal sealed record RunRequest(string File, string? Input, string? InputFile, int? TimeoutMs, int? CpuMs, int? MemoryMb, bool Module,
        OsIsolationMode Isolation = OsIsolationMode.Required, string? Engine = null)
    {
        /// <summary>--fuel: the execution's fuel budget (quickjs only); null: none.</summary>
        public long? Fuel { get; init; }

        /// <summary>--modules: the directory whose .js and .mjs files are the entry's named modules; null: none.</summary>
        public string? ModulesDirectory { get; init; }

        /// <summary>--allow-fetch: the origins the script may fetch, as given.</summary>
        public IReadOnlyList<string> FetchOrigins { get; init; } = [];

        /// <summary>The --max-* flags given, in order.</summary>
        public IReadOnlyList<LimitSetting> Limits { get; init; } = [];
    }

    /// <summary>One --max-* flag's value and how it sets the sandbox's limit.</summary>
    internal sealed record LimitSetting(string Flag, Action<SandboxLimits, int> Apply, int Value);

    /// <summary>
    /// The flags that raise or lower the limits a submission cannot name itself: the person running
    /// `warden run` is their own operator. Each is checked by the library's own setter (its range is the
    /// library's), so a value the library refuses is an invalid_request naming the flag.
    /// </summary>
    private sealed record LimitFlag(Option<int?> Option, Action<SandboxLimits, int> Apply)
    {
        public static IReadOnlyList<LimitFlag> All(SandboxLimits d) =>
        [
            New("--max-code-bytes", $"Largest script (with its modules), in UTF-8 bytes [default: {d.MaxCodeBytes}; max: {16 << 20}].", (l, v) => l.MaxCodeBytes = v),
            New("--max-input-bytes", $"Largest input JSON, in UTF-8 bytes [default: {d.MaxInputBytes}; max: {SandboxLimits.AbsoluteMaxInputBytes}].", (l, v) => l.MaxInputBytes = v),
            New("--max-console-bytes", $"Total console text, in UTF-8 bytes [default: {d.MaxConsoleBytes}; max: {64 << 20}].", (l, v) => l.MaxConsoleBytes = v),
            New("--max-console-entries", $"Console entries [default: {d.MaxConsoleEntries}; max: 1000000].", (l, v) => l.MaxConsoleEntries = v),
            New("--max-result-bytes", $"Largest serialised result, in UTF-8 bytes [default: {d.MaxResultBytes}; max: {256 << 20}].", (l, v) => l.MaxResultBytes = v),
            New("--max-fetch-response-bytes", $"Largest response body of one fetch (after decompression), in bytes [default: {d.MaxFetchResponseBytes}; max: {128 << 20}].", (l, v) => l.MaxFetchResponseBytes = v),
            New("--max-fetch-request-body-bytes", $"Largest request body of one fetch, in bytes [default: {d.MaxFetchRequestBodyBytes}; max: {16 << 20}].", (l, v) => l.MaxFetchRequestBodyBytes = v),
            New("--fetch-timeout", $"Time limit of one fetch request (one redirect hop), connection to last body byte, in ms [default: {d.FetchTimeoutMs}; max: {SandboxLimits.AbsoluteMaxTimeoutMs}].", (l, v) => l.FetchTimeoutMs = v),
            New("--max-error-text-bytes", $"Largest error name, message or stack, in UTF-8 bytes [default: {d.MaxErrorTextBytes}; range: 256-{1 << 20}].", (l, v) => l.MaxErrorTextBytes = v),
        ];

        private static LimitFlag New(string name, string description, Action<SandboxLimits, int> apply) =>
            new(new Option<int?>(name) { Description = description, HelpName = "N" }, apply);
    }

    internal static async Task<Outcome> RunAsync(RunRequest request, TextWriter stderr, Stream stdin, CancellationToken cancellationToken,
        Action<SandboxOptions>? configureSandbox = null)
    {
        var limits = new SandboxLimits
        {
            // The person running `warden run` is the operator: every ceiling is the absolute one.
            MaxTimeoutMs = SandboxLimits.AbsoluteMaxTimeoutMs,
            MaxMemoryMb = SandboxLimits.AbsoluteMaxMemoryMb,
        };
        foreach (var setting in request.Limits)
        {
            try
            {
                setting.Apply(limits, setting.Value);
            }
            catch (ArgumentOutOfRangeException e)
            {
                return Outcome.InvalidRequest($"{setting.Flag} {setting.Value} is out of range: {e.Message.Split(" (Parameter", 2)[0]}");
            }
        }
        if (request.Input is not null && request.InputFile is not null)
        {
            return Outcome.InvalidRequest("--input and --input-file cannot be used together");
        }
        var code = ReadText(request.File, "script", limits.MaxCodeBytes, stdin);
        if (code.Error is not null)
        {
            return Outcome.InvalidRequest(code.Error);
        }
        Dictionary<string, string>? namedModules = null;
        if (request.ModulesDirectory is not null)
        {
            if (!request.Module)
            {
                return Outcome.InvalidRequest("--modules needs --module: only a module entry can import modules");
            }
            var (read, error) = ModuleDirectory.Read(request.ModulesDirectory, request.File, limits.MaxCodeBytes - Encoding.UTF8.GetByteCount(code.Text!), Submission.MaxModules);
            if (error is not null)
            {
                return Outcome.InvalidRequest(error);
            }
            namedModules = read;
        }
        string? inputJson = request.Input;
        if (request.InputFile is not null)
        {
            var inputText = ReadText(request.InputFile, "input file", limits.MaxInputBytes, stdin);
            if (inputText.Error is not null)
            {
                return Outcome.InvalidRequest(inputText.Error);
            }
            inputJson = inputText.Text;
        }
        // Prepare the worker's isolate for exactly these limits, so nothing is made twice.
        if (request.MemoryMb is int mb && mb >= SandboxLimits.MinMemoryMb && mb <= SandboxLimits.AbsoluteMaxMemoryMb)
        {
            limits.DefaultMemoryMb = mb;
        }
        using var loggerFactory = LoggerFactory.Create(b => b
            .SetMinimumLevel(LogLevel.Warning)
            .AddSimpleConsole(o => o.SingleLine = true)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        var options = new SandboxOptions { Limits = limits, MaxWorkers = 1, SpareWorkers = 0, OsIsolation = request.Isolation };
        // The person running `warden run` is the operator: each --allow-fetch registers an origin and grants it.
        var fetchOrigins = new List<string>();
        foreach (var origin in request.FetchOrigins)
        {
            try
            {
                if (options.FetchOrigins.Find(origin) is null)
                {
                    options.FetchOrigins.Add(origin);
                }
                fetchOrigins.Add(options.FetchOrigins.Find(origin)!.Origin);
            }
            catch (ArgumentException e)
            {
                return Outcome.InvalidRequest("--allow-fetch " + e.Message.Split(" (Parameter", 2)[0]);
            }
        }
        configureSandbox?.Invoke(options);
        Sandbox sandbox;
        try
        {
            sandbox = new Sandbox(options, loggerFactory.CreateLogger<Sandbox>());
        }
        catch (IsolationUnavailableException e)
        {
            // The machine, not the request, is at fault: say which layer is missing and how to add it.
            await stderr.WriteLineAsync("warden: " + e.Message).ConfigureAwait(false);
            return Outcome.InternalError("IsolationUnavailable",
                "Refusing to run untrusted code: OS isolation layer(s) missing here: "
                + string.Join(", ", e.Report.Missing.Select(l => l.Name)) + ". Run `warden doctor` for how to enable them, or choose --isolation best-effort|none explicitly.");
        }
        await using var _ = sandbox;
        var submission = new Submission
        {
            Code = code.Text!,
            InputJson = inputJson,
            IsModule = request.Module,
            Modules = namedModules,
            Limits = new ExecutionLimits(request.TimeoutMs, request.CpuMs, request.MemoryMb, request.Fuel),
            Engine = request.Engine,
            FetchOrigins = fetchOrigins.Count == 0 ? null : fetchOrigins.Distinct(StringComparer.Ordinal).ToList(),
        };
        try
        {
            return await sandbox.RunAsync(submission, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await stderr.WriteLineAsync("warden: cancelled").ConfigureAwait(false);
            return Outcome.InternalError("Cancelled", "The run was cancelled before it finished; its worker was killed");
        }
    }

    private readonly record struct TextOrError(string? Text, string? Error);

    private static TextOrError ReadText(string path, string what, int maxBytes, Stream stdin)
    {
        byte[] bytes;
        try
        {
            if (path == "-")
            {
                bytes = BoundedText.Read(stdin, maxBytes);
                if (bytes.Length > maxBytes)
                {
                    return new(null, $"the {what} on standard input is larger than {maxBytes} bytes");
                }
            }
            else
            {
                var info = new FileInfo(path);
                if (!info.Exists)
                {
                    return new(null, Directory.Exists(path) ? $"the {what} '{path}' is a directory" : $"the {what} '{path}' does not exist");
                }
                if (info.Length > maxBytes)
                {
                    return new(null, $"the {what} '{path}' is {info.Length} bytes; the limit is {maxBytes}");
                }
                // Read with the same bound: a device or /proc file reports a length of 0.
                using (var file = File.OpenRead(path))
                {
                    bytes = BoundedText.Read(file, maxBytes);
                }
                if (bytes.Length > maxBytes)
                {
                    return new(null, $"the {what} '{path}' is larger than {maxBytes} bytes");
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(null, $"the {what} '{path}' cannot be read: {e.Message}");
        }
        var (text, error) = BoundedText.Decode(bytes, $"the {what} '{path}'");
        return new(text, error);
    }

    /// <summary>Prints the outcome for people (<see cref="PrettyOutcome"/>) and returns the status's exit code.</summary>
    private static int EmitPretty(Stream stdout, Outcome outcome)
    {
        stdout.Write(Encoding.UTF8.GetBytes(PrettyOutcome.Render(outcome)));
        stdout.Flush();
        return outcome.Status.ToExitCode();
    }

    /// <summary>Prints the outcome as one JSON line and returns the status's exit code.</summary>
    public static int Emit(Stream stdout, Outcome outcome)
    {
        stdout.Write(OutcomeJson.SerializeToUtf8Bytes(outcome));
        stdout.WriteByte((byte)'\n');
        stdout.Flush();
        return outcome.Status.ToExitCode();
    }
}
