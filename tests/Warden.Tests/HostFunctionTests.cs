using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Warden.Tests;

/// <summary>
/// Host functions (SandboxOptions.HostFunctions, Submission.HostFunctions): what a script reaches through
/// <c>warden:host</c> on both engines, and every limit and failure of a call: each attack checked for its outcome,
/// the time it took and the host's health afterwards.
/// </summary>
[Collection("sandbox")]
public sealed class HostFunctionTests : IAsyncLifetime
{
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromSeconds(15);
    private Sandbox _sandbox = null!;

    /// <summary>Tokens the delegates were given, by the value the script passed (to see them cancelled).</summary>
    private static readonly ConcurrentDictionary<string, CancellationToken> Tokens = new();

    /// <summary>How many hanging delegates are still running (they ignore their token on purpose).</summary>
    private static int _stubbornRunning;

    public static TheoryData<string> Engines => new() { "v8", "quickjs" };

    public async Task InitializeAsync()
    {
        var options = new SandboxOptions { MaxWorkers = 2, SpareWorkers = 1 };
        options.Limits.MaxHostCalls = 20;
        options.Limits.MaxConcurrentHostCalls = 3;
        options.Limits.MaxHostCallArgumentBytes = 4096;
        options.Limits.MaxHostCallResultBytes = 4096;
        options.Limits.HostCallTimeoutMs = 2000;   // generous: the machine is shared, and a 5 ms delegate must never time out here
        options.HostFunctions.Add("echo", (args, call) => JsonNode.Parse(args.GetRawText()));
        options.HostFunctions.Add("add", async (args, call) =>
        {
            await Task.Delay(5, call.CancellationToken);
            return JsonValue.Create(args[0].GetDouble() + args[1].GetDouble());
        });
        options.HostFunctions.Add("context", (args, call) => new JsonObject
        {
            ["name"] = call.FunctionName,
            ["key"] = call.IsolationKey,
            ["callId"] = call.CallId,
        });
        options.HostFunctions.Add("refuse", JsonNode? (args, call) => throw new HostFunctionException("no such user: " + args[0].GetString()));
        options.HostFunctions.Add("crash", JsonNode? (args, call) => throw new InvalidOperationException("secret connection string /srv/db"));
        options.HostFunctions.Add("hang", async (args, call) =>
        {
            Tokens[args[0].GetString()!] = call.CancellationToken;
            await Task.Delay(Timeout.Infinite, call.CancellationToken);
            return null;
        });
        options.HostFunctions.Add("stubborn", JsonNode? (args, call) =>
        {
            Interlocked.Increment(ref _stubbornRunning);
            try
            {
                Thread.Sleep(1500);
            }
            finally
            {
                Interlocked.Decrement(ref _stubbornRunning);
            }
            return null;
        });
        options.HostFunctions.Add("sleep", async (args, call) =>
        {
            await Task.Delay(args[0].GetInt32(), call.CancellationToken);
            return JsonValue.Create("slept");
        });
        // As in the README.
        options.HostFunctions.Add("lookupUser", async (JsonElement args, HostCallContext call) =>
        {
            var user = await FindUserAsync(args[0].GetInt32(), call.CancellationToken);
            return user is null
                ? throw new HostFunctionException("no such user")
                : new JsonObject { ["name"] = user };
        }, allowedIsolationKeys: ["tenant-a"]);
        // Names that could collide with the module's own code or the globals it reads.
        options.HostFunctions.Add("f", (args, call) => JsonValue.Create("f"));
        options.HostFunctions.Add("globalThis", (args, call) => JsonValue.Create("globalThis"));
        options.HostFunctions.Add("for", (args, call) => JsonValue.Create("for"));
        options.HostFunctions.Add("__wardenHostFunctions", (args, call) => JsonValue.Create("handoff"));
        options.HostFunctions.Add("huge", (args, call) => JsonValue.Create(new string('x', 10_000)));
        options.HostFunctions.Add("tenantOnly", (args, call) => JsonValue.Create("ok"), allowedIsolationKeys: ["tenant-a"]);
        _sandbox = new Sandbox(options);
        await _sandbox.WarmUpAsync();
    }

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    private static async Task<string?> FindUserAsync(int id, CancellationToken cancellationToken)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        return id == 7 ? "Ada" : null;
    }

    private async Task<(Outcome Outcome, TimeSpan Elapsed)> RunAsync(string engine, string code, string[]? grant, bool module = false,
        int? timeoutMs = null, string? key = null, IsolationUnit? unit = null, int? cpuMs = null)
    {
        var clock = Stopwatch.StartNew();
        var outcome = await _sandbox.RunAsync(new Submission
        {
            Code = code,
            Engine = engine,
            IsModule = module,
            HostFunctions = grant,
            IsolationKey = key,
            IsolationUnit = unit,
            Limits = new ExecutionLimits(TimeoutMs: timeoutMs, CpuMs: cpuMs),
        });
        return (outcome, clock.Elapsed);
    }

    private async Task AssertHealthyAsync(string engine)
    {
        var (outcome, _) = await RunAsync(engine, "(async () => { const h = await import('warden:host'); return [await h.echo(1, 'a'), typeof leaked]; })()", ["echo"]);
        OutcomeAssert.Ok("[[1,\"a\"],\"undefined\"]", outcome);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AClassicScriptCallsSyncAndAsyncFunctions(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            (async () => {
              const { echo, add } = await import('warden:host');
              const e = await echo({ a: [1, 'two', null], u: undefined }, undefined, () => 1);
              return [e, await add(40, 2), typeof echo, echo.name, Object.keys(await import('warden:host')).sort()];
            })()
            """, ["echo", "add"]);
        OutcomeAssert.Ok("[[{\"a\":[1,\"two\",null]},null,null],42,\"function\",\"echo\",[\"add\",\"echo\"]]", outcome);
        Assert.Equal(2, outcome.Usage.HostCalls);
        Assert.True(outcome.Usage.HostMs >= 0);
        Assert.Contains("\"hostCalls\":2,\"hostMs\":", outcome.ToJson());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AModuleImportsThemStatically(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            import { add } from 'warden:host';
            import * as host from 'warden:host';
            export default async () => [await add(1, 2), Object.keys(host), host.add === add];
            """, ["add"], module: true);
        OutcomeAssert.Ok("[3,[\"add\"],true]", outcome);
        Assert.Equal(1, outcome.Usage.HostCalls);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task WithoutAGrantThereIsNoModuleAndTheOutcomeIsUnchanged(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            (async () => { try { await import('warden:host'); return 'imported'; } catch (e) { return e.message; } })()
            """, null);
        OutcomeAssert.Ok("\"Cannot find module 'warden:host': only the submitted modules can be imported\"", outcome);
        Assert.Null(outcome.Usage.HostCalls);
        Assert.DoesNotContain("host", outcome.ToJson().Replace("warden:host", ""));
        Assert.DoesNotContain("__warden", (await RunAsync(engine, "Object.getOwnPropertyNames(globalThis).join()", ["echo"])).Outcome.ResultJson);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task OnlyGrantedNamesExist(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            (async () => { const h = await import('warden:host'); return [Object.keys(h), typeof h.crash, typeof globalThis.__wardenHostFunctions]; })()
            """, ["echo"]);
        OutcomeAssert.Ok("[[\"echo\"],\"undefined\",\"undefined\"]", outcome);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AHostFunctionExceptionsMessageCrossesAndNothingElseDoes(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            (async () => {
              const { refuse, crash } = await import('warden:host');
              const out = [];
              for (const f of [() => refuse('bob'), () => crash()]) {
                try { await f(); } catch (e) { out.push([e instanceof Error, e.name, e.message, e.stack]); }
              }
              return out;
            })()
            """, ["refuse", "crash"]);
        // The stack names nothing of the prelude that made the error.
        OutcomeAssert.Ok("[[true,\"Error\",\"no such user: bob\",\"Error: no such user: bob\"],"
            + "[true,\"Error\",\"The host function crash failed\",\"Error: The host function crash failed\"]]", outcome);
        Assert.DoesNotContain("secret", outcome.ToJson());
        Assert.DoesNotContain("InvalidOperationException", outcome.ToJson());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AnUncaughtRejectionIsAScriptError(string engine)
    {
        var (outcome, _) = await RunAsync(engine, "import { refuse } from 'warden:host'; await refuse('x');", ["refuse"], module: true);
        var error = OutcomeAssert.Failed(OutcomeStatus.ScriptError, "Error", outcome);
        Assert.Equal("no such user: x", error.Message);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AHangingDelegateTimesOutItsCallAndIsCancelled(string engine)
    {
        string tag = engine + "-timeout";
        var (outcome, elapsed) = await RunAsync(engine, $$"""
            (async () => { const { hang } = await import('warden:host');
              try { await hang('{{tag}}'); return 'answered'; } catch (e) { return [e.name, e.message]; } })()
            """, ["hang"], timeoutMs: 5000);
        OutcomeAssert.Ok("[\"RangeError\",\"Host call limit exceeded: hang did not answer within 2000 ms (callTimeoutMs)\"]", outcome);
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
        Assert.True(Tokens[tag].IsCancellationRequested);
        await AssertHealthyAsync(engine);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task CallsPendingWhenTheScriptEndsAreCancelled(string engine)
    {
        string tag = engine + "-pending";
        var (outcome, elapsed) = await RunAsync(engine, $$"""
            (async () => { const { hang } = await import('warden:host'); hang('{{tag}}'); await null; return 'done'; })()
            """, ["hang"], timeoutMs: 5000);
        OutcomeAssert.Ok("\"done\"", outcome);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed}");
        Assert.True(Tokens[tag].IsCancellationRequested);
        Assert.Equal(1, outcome.Usage.HostCalls);
        await AssertHealthyAsync(engine);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AWaitOnlyForAHostCallStillEndsAtTheWallLimit(string engine)
    {
        // The call's own timeout is 2000 ms; the wall limit comes first.
        var (outcome, elapsed) = await RunAsync(engine, """
            import { hang } from 'warden:host';
            await hang('wall-' + Math.random());
            """, ["hang"], module: true, timeoutMs: 300);
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.Equal(LimitKind.Wall, outcome.Error!.Limit);
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
        await AssertHealthyAsync(engine);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ABusyLoopWhileACallIsPendingIsStoppedAtItsLimit(string engine)
    {
        var (outcome, elapsed) = await RunAsync(engine, """
            (async () => { const { hang } = await import('warden:host'); hang('loop-' + Math.random()); while (true) {} })()
            """, ["hang"], timeoutMs: 400);
        OutcomeAssert.Status(OutcomeStatus.Timeout, outcome);
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
        await AssertHealthyAsync(engine);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AFloodOfCallsStopsAtTheCallLimit(string engine)
    {
        var (outcome, elapsed) = await RunAsync(engine, """
            (async () => { const { echo } = await import('warden:host');
              let n = 0;
              try { for (;;) { await echo(n); n++; } } catch (e) { return [n, e.name, e.message]; } })()
            """, ["echo"]);
        OutcomeAssert.Ok("[20,\"RangeError\",\"Host call limit exceeded: at most 20 calls per execution (maxCalls)\"]", outcome);
        Assert.Equal(20, outcome.Usage.HostCalls);
        Assert.True(elapsed < MaxElapsed, $"took {elapsed}");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ConcurrentCallsStopAtTheConcurrencyLimit(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            (async () => { const { add } = await import('warden:host');
              const results = await Promise.allSettled([1, 2, 3, 4, 5].map(n => add(n, 0)));
              return results.map(r => r.status === 'fulfilled' ? r.value : r.reason.name + ': ' + r.reason.message); })()
            """, ["add"]);
        OutcomeAssert.Ok("[1,2,3,\"RangeError: Host call limit exceeded: at most 3 calls at once (maxConcurrentCalls)\","
            + "\"RangeError: Host call limit exceeded: at most 3 calls at once (maxConcurrentCalls)\"]", outcome);
        Assert.Equal(3, outcome.Usage.HostCalls);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task HugeArgumentsAndResultsAreRefused(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            (async () => { const { echo, huge } = await import('warden:host');
              const out = [];
              for (const f of [() => echo('x'.repeat(5000)), () => echo('\u20ac'.repeat(2000)), () => echo('x'.repeat(1e7)), () => huge()]) {
                try { await f(); out.push('answered'); } catch (e) { out.push(e.name + ': ' + e.message); }
              }
              return out; })()
            """, ["echo", "huge"]);
        const string args = "RangeError: Host call limit exceeded: the arguments are larger than 4096 bytes (maxArgumentBytes)";
        OutcomeAssert.Ok($"[\"{args}\",\"{args}\",\"{args}\",\"RangeError: Host call limit exceeded: the result of huge is larger than 4096 bytes (maxResultBytes)\"]", outcome);
        // Only the result's call reached the host: the arguments were refused inside the worker.
        Assert.Equal(1, outcome.Usage.HostCalls);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ArgumentsAreSerialisedInsideAsTheScriptsOwnCode(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            (async () => { const { echo } = await import('warden:host');
              const out = [];
              const cyclic = {}; cyclic.self = cyclic;
              for (const f of [() => echo(cyclic), () => echo(1n), () => echo({ get a() { throw new Error('getter'); } })]) {
                try { await f(); out.push('answered'); } catch (e) { out.push(e.name); }
              }
              // The proxy is read twice: JSON.stringify looks up toJSON, then the key.
              let reads = 0;
              const proxy = new Proxy({}, { ownKeys: () => ['k'], getOwnPropertyDescriptor: () => ({ value: 1, enumerable: true, configurable: true }), get: () => ++reads });
              out.push(await echo(proxy, { get g() { return 'got'; } }, { toJSON() { return 'mine'; } }));
              Array.prototype.toJSON = () => 'planted';
              out.push(await echo([1, 2]));
              delete Array.prototype.toJSON;
              return out; })()
            """, ["echo"]);
        OutcomeAssert.Ok("[\"TypeError\",\"TypeError\",\"Error\",[{\"k\":2},{\"g\":\"got\"},\"mine\"],[\"planted\"]]", outcome);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task TheFunctionsLeadNowhere(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            (async () => { const h = await import('warden:host');
              const f = h.echo;
              let constructed = 'no';
              try { new f(); constructed = 'yes'; } catch (e) { constructed = e.name; }
              return [Object.getOwnPropertyNames(f).sort(), f.prototype === undefined, constructed,
                Object.getPrototypeOf(f) === Function.prototype, Object.isFrozen(h), Object.getPrototypeOf(h)]; })()
            """, ["echo"]);
        OutcomeAssert.Ok("[[\"length\",\"name\"],true,\"TypeError\",true,false,null]", outcome);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task TheContextNamesTheCallAndTheKey(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            import { context, tenantOnly } from 'warden:host';
            export default async () => [await context(), await context(), await tenantOnly()];
            """, ["context", "tenantOnly"], module: true, key: "tenant-a");
        OutcomeAssert.Ok("[{\"name\":\"context\",\"key\":\"tenant-a\",\"callId\":1},{\"name\":\"context\",\"key\":\"tenant-a\",\"callId\":2},\"ok\"]", outcome);
    }

    [Theory]
    [InlineData(new[] { "nope" }, null, null, "hostFunctions: no host function named 'nope' is registered")]
    [InlineData(new[] { "tenantOnly" }, "tenant-b", null, "hostFunctions: 'tenantOnly' may not be granted to this isolation key")]
    [InlineData(new[] { "tenantOnly" }, null, null, "hostFunctions: 'tenantOnly' may not be granted to this isolation key")]
    [InlineData(new[] { "echo", "echo" }, null, null, "hostFunctions: 'echo' is granted twice")]
    [InlineData(new[] { "bad name" }, null, null, "hostFunctions: every name must be a registered host function")]
    [InlineData(new[] { "echo" }, null, IsolationUnit.Context, "hostFunctions can only be granted to an execution in a fresh isolate (isolationUnit Isolate)")]
    public async Task InvalidGrantsAreInvalidRequests(string[] grant, string? key, IsolationUnit? unit, string message)
    {
        var (outcome, _) = await RunAsync("v8", "1", grant, key: key, unit: unit);
        var error = OutcomeAssert.Failed(OutcomeStatus.InvalidRequest, "InvalidRequest", outcome);
        Assert.Equal(message, error.Message);
        Assert.Equal("hostFunctions", error.Field);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task TheReadmeExampleWorks(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            import { lookupUser } from 'warden:host';
            export default async () => [(await lookupUser(7)).name, await lookupUser(8).catch(e => e.message)];
            """, ["lookupUser"], module: true, key: "tenant-a");
        OutcomeAssert.Ok("[\"Ada\",\"no such user\"]", outcome);
        Assert.Equal(2, outcome.Usage.HostCalls);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task HostTimeCountsAsWallTimeNotCpuTime(string engine)
    {
        // 300 ms in the host under a 150 ms CPU limit: waiting costs the script thread nothing.
        var (outcome, _) = await RunAsync(engine, """
            import { sleep } from 'warden:host';
            export default () => sleep(300);
            """, ["sleep"], module: true, timeoutMs: 5000, cpuMs: 150);
        OutcomeAssert.Ok("\"slept\"", outcome);
        Assert.InRange(outcome.Usage.HostMs!.Value, 250, 5000);
        Assert.True(outcome.Usage.WallMs >= outcome.Usage.HostMs, outcome.ToJson());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task DeeplyNestedArgumentsAreRefusedByTheHost(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            (async () => { const { echo } = await import('warden:host');
              let deep = 0; for (let i = 0; i < 1200; i++) deep = [deep];
              try { await echo(deep); return 'answered'; } catch (e) { return e.name + ': ' + e.message; } })()
            """, ["echo"]);
        OutcomeAssert.Ok("\"TypeError: Host call arguments are nested more than 1000 deep\"", outcome);
        await AssertHealthyAsync(engine);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task AnyValidNameWorksAsAnExport(string engine)
    {
        var (outcome, _) = await RunAsync(engine, """
            import { f, globalThis as g, for as loop, __wardenHostFunctions as handoff, echo } from 'warden:host';
            export default async () => [await f(), await g(), await loop(), await handoff(), await echo(typeof globalThis.__wardenHostFunctions)];
            """, ["f", "globalThis", "for", "__wardenHostFunctions", "echo"], module: true);
        OutcomeAssert.Ok("[\"f\",\"globalThis\",\"for\",\"handoff\",[\"undefined\"]]", outcome);
    }

    [Fact]
    public async Task DelegatesThatIgnoreCancellationAreBoundedHostWide()
    {
        var options = new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0 };
        options.Limits.MaxOutstandingHostCalls = 2;
        options.Limits.HostCallTimeoutMs = 100;
        options.HostFunctions.Add("stubborn", JsonNode? (args, call) =>
        {
            Thread.Sleep(2000);
            return null;
        });
        await using var sandbox = new Sandbox(options);
        var outcome = await sandbox.RunAsync(new Submission
        {
            Code = """
                (async () => { const { stubborn } = await import('warden:host');
                  const r = await Promise.allSettled([stubborn(), stubborn(), stubborn()]);
                  return r.map(x => x.reason.message); })()
                """,
            HostFunctions = ["stubborn"],
        });
        OutcomeAssert.Ok("[\"Host call limit exceeded: stubborn did not answer within 100 ms (callTimeoutMs)\","
            + "\"Host call limit exceeded: stubborn did not answer within 100 ms (callTimeoutMs)\","
            + "\"Host call limit exceeded: the host has too many calls outstanding (maxOutstandingHostCalls)\"]", outcome);
    }
}
