using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Warden.Tests.Isolation;

/// <summary>
/// An attack review of host functions (issue 15): what a script, an operator's delegate or a compromised worker can
/// make of <c>warden:host</c> beyond what <see cref="HostFunctionTests"/> covers. Each hole found is a test here:
/// calls made after the result was settled reached the host, a delegate answering with its own arguments failed,
/// a delegate's cancellation callback broke (or held) the end of the execution, a host-call or console frame with
/// a null member made the library throw, and the end-of-execution wait for a reply being written is bounded.
/// </summary>
[Collection("sandbox")]
public sealed class HostFunctionAttackTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("warden-hostattack-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string> Engines => new() { "v8", "quickjs" };

    /// <summary>Calls each delegate received, by the tag the script passed.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Received = new();

    private static Sandbox NewSandbox(Action<SandboxOptions>? configure = null, ILogger<Sandbox>? logger = null)
    {
        var options = new SandboxOptions { MaxWorkers = 2, SpareWorkers = 1 };
        options.Limits.HostCallTimeoutMs = 5000;
        options.HostFunctions.Add("count", JsonNode? (args, call) =>
        {
            Received.AddOrUpdate(args[0].GetString()!, 1, (_, n) => n + 1);
            return null;
        });
        // Natural ways for an operator to answer with (part of) the arguments it was given.
        options.HostFunctions.Add("mirror", JsonNode? (args, call) => JsonArray.Create(args));
        options.HostFunctions.Add("first", JsonNode? (args, call) => JsonValue.Create(args[0]));
        options.HostFunctions.Add("untyped", JsonNode? (args, call) => throw new HostFunctionException(null!));
        options.HostFunctions.Add("polluting", JsonNode? (args, call) =>
            JsonNode.Parse("{\"__proto__\":{\"polluted\":true},\"constructor\":{\"prototype\":{\"polluted\":true}},\"toString\":1}"));
        options.HostFunctions.Add("deep", JsonNode? (args, call) =>
            JsonNode.Parse(new string('[', DeepResult) + new string(']', DeepResult), documentOptions: new JsonDocumentOptions { MaxDepth = DeepResult + 1 }));
        configure?.Invoke(options);
        return logger is null ? new Sandbox(options) : new Sandbox(options, logger);
    }

    /// <summary>
    /// HOLE (fixed): code still running in the turn that settled the result (a microtask chain) made host calls,
    /// and the host ran their delegates — side effects of an execution whose outcome was already decided. The
    /// worker now refuses calls once the execution has its outcome; they never reach the host.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines))]
    public async Task CallsMadeAfterTheResultSettledNeverReachTheHost(string engine)
    {
        string tag = "after-" + engine + "-" + Guid.NewGuid().ToString("n");
        await using var sandbox = NewSandbox();
        var outcome = await sandbox.RunAsync(new Submission
        {
            Code = $$"""
                (async () => {
                  const { count } = await import('warden:host');
                  await count('{{tag}}');
                  let p = Promise.resolve();
                  for (let i = 0; i < 50; i++) p = p.then(() => {});
                  p.then(() => { for (let i = 0; i < 3; i++) count('{{tag}}').catch(() => {}); });
                  return 'done';
                })()
                """,
            Engine = engine,
            HostFunctions = ["count"],
        });
        OutcomeAssert.Ok("\"done\"", outcome);
        Assert.Equal(1, outcome.Usage.HostCalls);
        await Task.Delay(300);
        Assert.Equal(1, Received.GetValueOrDefault(tag));
    }

    /// <summary>
    /// HOLE (fixed): a failure settles the outcome too: calls made after an uncaught throw never reach the host.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines))]
    public async Task CallsMadeAfterAFailureNeverReachTheHost(string engine)
    {
        string tag = "failed-" + engine + "-" + Guid.NewGuid().ToString("n");
        await using var sandbox = NewSandbox();
        var outcome = await sandbox.RunAsync(new Submission
        {
            Code = $$"""
                (async () => {
                  const { count } = await import('warden:host');
                  let p = Promise.resolve();
                  for (let i = 0; i < 50; i++) p = p.then(() => {});
                  p.then(() => { count('{{tag}}').catch(() => {}); });
                  throw new TypeError('mine');
                })()
                """,
            Engine = engine,
            HostFunctions = ["count"],
        });
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "TypeError", outcome);
        Assert.Equal("mine", error.Message);
        Assert.Equal(0, outcome.Usage.HostCalls);
        await Task.Delay(300);
        Assert.Equal(0, Received.GetValueOrDefault(tag));
    }

    /// <summary>
    /// HOLE (fixed): the arguments' document was disposed as soon as the delegate returned, before its result was
    /// serialised, so a result that refers to the arguments (<c>JsonArray.Create(args)</c>,
    /// <c>JsonValue.Create(args[0])</c>) always failed with the generic message.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ADelegateMayAnswerWithItsOwnArguments(string engine)
    {
        await using var sandbox = NewSandbox();
        var outcome = await sandbox.RunAsync(new Submission
        {
            Code = """
                (async () => { const { mirror, first } = await import('warden:host');
                  return [await mirror(1, 'two', { three: [3] }), await first('one')]; })()
                """,
            Engine = engine,
            HostFunctions = ["mirror", "first"],
        });
        OutcomeAssert.Ok("[[1,\"two\",{\"three\":[3]}],\"one\"]", outcome);
    }

    /// <summary>Nearly as deep as the host's JSON writer goes (1,000).</summary>
    private const int DeepResult = 990;

    /// <summary>
    /// Sound: results are parsed in the isolate by the captured JSON.parse, which makes <c>__proto__</c> an own data
    /// property (no prototype is set, nothing is polluted), and a result nested as deep as the host can write it
    /// parses on both engines.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ResultsCannotPolluteAndDeepResultsParse(string engine)
    {
        await using var sandbox = NewSandbox();
        var outcome = await sandbox.RunAsync(new Submission
        {
            Code = """
                (async () => { const { polluting, deep } = await import('warden:host');
                  const r = await polluting();
                  const d = await deep();
                  let depth = 0; for (let x = d; Array.isArray(x); x = x[0]) depth++;
                  return [Object.getPrototypeOf(r) === Object.prototype, Object.hasOwn(r, '__proto__'), r.polluted === undefined,
                    ({}).polluted === undefined, typeof r.toString, depth]; })()
                """,
            Engine = engine,
            HostFunctions = ["polluting", "deep"],
        });
        OutcomeAssert.Ok($"[true,true,true,true,\"number\",{DeepResult}]", outcome);
    }

    /// <summary>A HostFunctionException made without a message shows none, never .NET's text naming its type.</summary>
    [Fact]
    public async Task AHostFunctionExceptionWithoutAMessageNamesNoDotNetType()
    {
        await using var sandbox = NewSandbox();
        var outcome = await sandbox.RunAsync(new Submission
        {
            Code = "(async () => { const { untyped } = await import('warden:host'); return untyped().catch(e => [e.name, e.message, e.stack]); })()",
            HostFunctions = ["untyped"],
        });
        OutcomeAssert.Ok("[\"Error\",\"\",\"Error\"]", outcome);
    }

    /// <summary>
    /// HOLE (fixed): the end of an execution awaited the cancellation of its pending calls, callbacks included, so a
    /// delegate whose token callback threw made <see cref="Sandbox.RunAsync"/> throw (the callback's exception, text
    /// and all, to the application), and one whose callback blocked held the execution until it returned.
    /// </summary>
    [Theory]
    [InlineData("throws")]
    [InlineData("blocks")]
    public async Task ADelegatesCancellationCallbackCannotBreakOrHoldTheEndOfTheExecution(string behaviour)
    {
        var logger = new RecordingLogger<Sandbox>();
        await using var sandbox = NewSandbox(options => options.HostFunctions.Add("trap", async (args, call) =>
        {
            call.CancellationToken.Register(() =>
            {
                if (behaviour == "throws")
                {
                    throw new InvalidOperationException("callback secret");
                }
                Thread.Sleep(6000);
            });
            await Task.Delay(3000);   // ignores its token
            return null;
        }), logger);
        await sandbox.WarmUpAsync();
        var clock = Stopwatch.StartNew();
        var outcome = await sandbox.RunAsync(new Submission
        {
            Code = "(async () => { const { trap } = await import('warden:host'); trap().catch(() => {}); await null; return 'done'; })()",
            HostFunctions = ["trap"],
            Limits = new ExecutionLimits(TimeoutMs: 2000),
        });
        OutcomeAssert.Ok("\"done\"", outcome);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4.5), $"took {clock.Elapsed}");
        Assert.Equal(1, outcome.Usage.HostCalls);
        // The sandbox goes on.
        OutcomeAssert.Ok("2", await sandbox.RunAsync(new Submission { Code = "1 + 1" }));
    }

    private const string Ready = "{\"type\":\"ready\",\"pid\":1,\"engine\":{\"name\":\"v8\",\"version\":\"0\",\"memory\":{\"growthCapPerBudgetMb\":1.25,\"growthCapFixedMb\":64,\"nearBudgetFraction\":0.5,\"nearBudgetCeilingMb\":512},\"outOfMemoryMarkers\":[]},\"lockdown\":{\"seccomp\":false,\"allowedSyscalls\":0,\"rlimitsApplied\":false,\"lockdownMs\":0}}";
    private const string Started = "{\"type\":\"started\",\"id\":\"x1\"}";
    private const string Result = "{\"type\":\"result\",\"id\":\"x1\",\"status\":\"ok\",\"result\":\"1\",\"usage\":{\"wallMs\":1,\"cpuMs\":1,\"memoryBytes\":1}}";

    /// <summary>Frames a compromised worker may send with a required member set to JSON null.</summary>
    public static TheoryData<string, string> NullMembers => new()
    {
        { "a host call without arguments", "{\"type\":\"hostCall\",\"id\":\"x1\",\"callId\":1,\"name\":\"count\",\"arguments\":null}" },
        { "a host call without a name", "{\"type\":\"hostCall\",\"id\":\"x1\",\"callId\":1,\"name\":null,\"arguments\":\"[]\"}" },
        { "a console entry without text", "{\"type\":\"console\",\"id\":\"x1\",\"level\":\"log\",\"text\":null}" },
        { "a console entry without a level", "{\"type\":\"console\",\"id\":\"x1\",\"level\":null,\"text\":\"t\"}" },
        // Found after the review (the same class, closed for every frame by RespectNullableAnnotations).
        { "a result without usage", "{\"type\":\"result\",\"id\":\"x1\",\"status\":\"ok\",\"result\":\"1\",\"usage\":null}" },
        { "a result without a status", "{\"type\":\"result\",\"id\":\"x1\",\"status\":null,\"result\":\"1\",\"usage\":{\"wallMs\":1,\"cpuMs\":1,\"memoryBytes\":1}}" },
        { "an error without a name", "{\"type\":\"result\",\"id\":\"x1\",\"status\":\"script_error\",\"error\":{\"name\":null,\"message\":\"m\",\"stack\":\"s\"},\"usage\":{\"wallMs\":1,\"cpuMs\":1,\"memoryBytes\":1}}" },
        { "an error without a stack", "{\"type\":\"result\",\"id\":\"x1\",\"status\":\"script_error\",\"error\":{\"name\":\"E\",\"message\":\"m\",\"stack\":null},\"usage\":{\"wallMs\":1,\"cpuMs\":1,\"memoryBytes\":1}}" },
        { "a started frame without an id", "{\"type\":\"started\",\"id\":null}" },
    };

    /// <summary>
    /// HOLE (fixed): the frame schema let a required member be JSON null; a host call's null arguments (or a console
    /// entry's null text, or a result's null usage) threw out of <see cref="Sandbox.RunAsync"/> instead of ending the
    /// execution as a protocol breach. The protocol's JSON options now refuse null for every non-nullable member.
    /// </summary>
    [Theory]
    [MemberData(nameof(NullMembers))]
    public async Task AFrameWithANullMemberIsABreachNotAnException(string name, string frame)
    {
        var logger = new RecordingLogger<Sandbox>();
        var options = FakeWorker([Frame(Ready), Frame(Started), Frame(frame)], "cat > /dev/null");
        int ran = 0;
        options.HostFunctions.Add("count", JsonNode? (args, call) =>
        {
            Interlocked.Increment(ref ran);
            return null;
        });
        await using var sandbox = new Sandbox(options, logger);
        var outcome = await sandbox.RunAsync(new Submission { Code = "1", HostFunctions = ["count"], Limits = new ExecutionLimits(TimeoutMs: 2000) });
        Assert.True(outcome.Status == OutcomeStatus.InternalError, $"{name}: {outcome.ToJson()}");
        Assert.Contains(logger.Lines, line => line.Level == LogLevel.Error && line.Message.Contains("SECURITY: worker", StringComparison.Ordinal));
        Assert.Equal(0, ran);
        Assert.Empty(sandbox.WorkerPids);
    }

    /// <summary>
    /// The end of an execution waits for a reply being written at most 1 s (so frames never interleave with the next
    /// execution's); a worker that does not read it meanwhile is killed as a breach and never reused. Here the worker
    /// asks for a 1 MiB answer, stops reading its stdin (the pipe holds 64 KiB), then sends its result.
    /// </summary>
    [Fact]
    public async Task AReplyTheWorkerDoesNotReadHoldsTheEndForAtMostASecond()
    {
        var logger = new RecordingLogger<Sandbox>();
        string call = "{\"type\":\"hostCall\",\"id\":\"x1\",\"callId\":1,\"name\":\"big\",\"arguments\":\"[]\"}";
        var options = FakeWorker([Frame(Ready), Frame(Started), Frame(call)], "sleep 1", [Frame(Result)], "sleep 60");
        options.Limits.MaxHostCallResultBytes = 2 << 20;
        int answered = 0;
        options.HostFunctions.Add("big", (args, c) =>
        {
            Interlocked.Increment(ref answered);
            return JsonValue.Create(new string('x', 1 << 20));
        });
        await using var sandbox = new Sandbox(options, logger);
        var clock = Stopwatch.StartNew();
        var outcome = await sandbox.RunAsync(new Submission { Code = "1", HostFunctions = ["big"], Limits = new ExecutionLimits(TimeoutMs: 5000) });
        var elapsed = clock.Elapsed;
        // The result the worker sent is its outcome; the wait ended it within the second (plus the fake's own sleep).
        OutcomeAssert.Ok("1", outcome);
        Assert.Equal(1, answered);
        Assert.Equal(1, outcome.Usage.HostCalls);
        Assert.InRange(elapsed, TimeSpan.FromSeconds(1.8), TimeSpan.FromSeconds(6));
        Assert.Contains(logger.Lines, line => line.Level == LogLevel.Error && line.Message.Contains("SECURITY: worker", StringComparison.Ordinal)
            && line.Message.Contains("did not read", StringComparison.Ordinal));
        Assert.Empty(sandbox.WorkerPids);
    }

    private static byte[] Frame(string json)
    {
        byte[] payload = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)payload.Length);
        payload.CopyTo(bytes, 4);
        return bytes;
    }

    /// <summary>A fake worker (a shell script): writes <paramref name="first"/>, runs <paramref name="between"/>, writes <paramref name="then"/>, runs <paramref name="after"/>.</summary>
    private SandboxOptions FakeWorker(byte[][] first, string between, byte[][]? then = null, string? after = null)
    {
        string Write(byte[][] frames)
        {
            string data = Path.Combine(_directory, Guid.NewGuid().ToString("n") + ".bin");
            File.WriteAllBytes(data, [.. frames.SelectMany(f => f)]);
            return $"cat '{data}'\n";
        }
        string script = Path.Combine(_directory, Guid.NewGuid().ToString("n") + ".sh");
        File.WriteAllText(script, Write(first) + between + "\n" + (then is null ? "" : Write(then)) + (after ?? "") + "\n");
        return new SandboxOptions { DotnetHostPath = "/bin/sh", WorkerAssemblyPath = script, SpareWorkers = 0, MaxWorkers = 1, OsIsolation = OsIsolationMode.Disabled };
    }
}
