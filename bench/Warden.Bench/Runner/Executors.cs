using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.ClearScript;
using Microsoft.ClearScript.V8;
using Microsoft.Extensions.DependencyInjection;
using Warden.Server;

namespace Warden.Bench.Runner;

/// <summary>The result of one execution as a benchmark sees it: the completion value as text, or why not.</summary>
internal sealed record Execution(string Status, string? Value, string? Detail, double MemoryMb = 0);

/// <summary>One way of running an untrusted script: a layer of Warden.</summary>
internal interface IExecutor : IAsyncDisposable
{
    Task<Execution> RunAsync(string code, string? inputJson, int timeoutMs, int memoryMb);

    /// <summary>Waits until background work the warm-up started (a replacement spare worker) is done.</summary>
    Task SettleAsync() => Task.CompletedTask;

    /// <summary>The sandbox's counters of warm isolates (made, reused), when this layer has a sandbox.</summary>
    (long Made, long Reuses)? WarmIsolates => null;
}

/// <summary>
/// <c>warden-engine</c>: V8 through ClearScript in the runner's own process, a fresh runtime per
/// execution with the same constraints the worker uses, and nothing else — no prelude, no worker, no
/// OS layer. The cost of the engine alone; also what happens without a process boundary (V8's hard
/// heap limit aborts the whole process). With <c>reuseRuntime</c> (the <c>-warm</c> workloads) one
/// runtime per memory limit serves every execution, each in a fresh script engine (its own context and
/// global object): the floor under Warden's <see cref="IsolationUnit.Context"/>, as isolated-vm's
/// warm mode is a reused isolate with a fresh context.
/// </summary>
internal sealed class EngineExecutor(bool reuseRuntime) : IExecutor
{
    // Executions run one at a time per workload, so one runtime (per memory limit) is enough.
    private readonly Dictionary<int, V8Runtime> _warm = [];

    public Task<Execution> RunAsync(string code, string? inputJson, int timeoutMs, int memoryMb) =>
        Task.Run(() => Run(code, inputJson, timeoutMs, memoryMb));

    private static V8Runtime NewRuntime(int memoryMb)
    {
        ulong limit = (ulong)memoryMb << 20;
        var runtime = new V8Runtime(new V8RuntimeConstraints
        {
            MaxOldSpaceSize = Math.Max(2 * memoryMb, memoryMb + 64),
            MaxArrayBufferAllocation = limit,
        });
        runtime.MaxHeapSize = (UIntPtr)limit;
        runtime.HeapSizeSampleInterval = TimeSpan.FromMilliseconds(5);
        return runtime;
    }

    private Execution Run(string code, string? inputJson, int timeoutMs, int memoryMb)
    {
        V8Runtime runtime;
        lock (_warm)
        {
            runtime = reuseRuntime
                ? _warm.TryGetValue(memoryMb, out var kept) ? kept : _warm[memoryMb] = NewRuntime(memoryMb)
                : NewRuntime(memoryMb);
        }
        var result = Run(runtime, code, inputJson, timeoutMs);
        if (!reuseRuntime)
        {
            runtime.Dispose();
        }
        else if (result.Status != "ok")
        {
            // As Warden and isolated-vm do: a runtime that hit a limit is not reused.
            lock (_warm)
            {
                _warm.Remove(memoryMb);
            }
            runtime.Dispose();
        }
        return result;
    }

    private static Execution Run(V8Runtime runtime, string code, string? inputJson, int timeoutMs)
    {
        using var engine = runtime.CreateScriptEngine(V8ScriptEngineFlags.DisableGlobalMembers);
        if (inputJson is not null)
        {
            engine.Script.__input = inputJson;
            engine.Execute("globalThis.input = JSON.parse(globalThis.__input); delete globalThis.__input;");
        }
        // Interrupt() is not remembered (design.md): re-issue it until the script has stopped.
        using var stop = new CancellationTokenSource();
        var watchdog = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(timeoutMs, stop.Token);
                while (!stop.IsCancellationRequested)
                {
                    engine.Interrupt();
                    await Task.Delay(1, stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
            }
        });
        try
        {
            object value = engine.Evaluate(code);
            return new Execution("ok", Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), null);
        }
        catch (ScriptInterruptedException)
        {
            return new Execution("timeout", null, "interrupted");
        }
        catch (ScriptEngineException e)
        {
            bool memory = e.Message.Contains("memory limit", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("Array buffer allocation failed", StringComparison.Ordinal);
            return new Execution(memory ? "memory_limit" : "script_error", null, e.Message);
        }
        finally
        {
            stop.Cancel();
            watchdog.Wait();
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (var runtime in _warm.Values)
        {
            runtime.Dispose();
        }
        _warm.Clear();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// <c>warden</c> (and <c>warden-quickjs</c>, the same on the quickjs engine: a fresh QuickJS VM in a Wasmtime store per
/// execution, no warm mode): the library — a locked-down worker process per isolation key, and in it a fresh isolate
/// per execution (<see cref="IsolationUnit.Isolate"/>) or, for the <c>-warm</c> workloads, a fresh context
/// in a warm isolate (<see cref="IsolationUnit.Context"/>). Submissions carry no isolation key: keyless
/// executions of one sandbox form one key, so they share warm isolates.
/// </summary>
internal sealed class LibraryExecutor : IExecutor
{
    private readonly Sandbox _sandbox;

    private LibraryExecutor(IsolationUnit unit, string engine) => _sandbox = new(new SandboxOptions { IsolationUnit = unit, DefaultEngine = engine });

    /// <param name="engine">The sandbox's default engine: <c>v8</c> (<c>warden</c>) or <c>quickjs</c> (<c>warden-quickjs</c>).</param>
    public static async Task<LibraryExecutor> StartAsync(IsolationUnit unit, string engine = "v8")
    {
        var executor = new LibraryExecutor(unit, engine);
        await executor._sandbox.WarmUpAsync();
        return executor;
    }

    public async Task<Execution> RunAsync(string code, string? inputJson, int timeoutMs, int memoryMb)
    {
        var outcome = await _sandbox.RunAsync(new Submission
        {
            Code = code,
            InputJson = inputJson,
            Limits = new ExecutionLimits(TimeoutMs: timeoutMs, MemoryMb: Math.Max(SandboxLimits.MinMemoryMb, memoryMb)),
        });
        return Describe(outcome.Status.ToWireString(), outcome.ResultJson, outcome.Error?.Message, outcome.Usage.MemoryBytes);
    }

    public Task SettleAsync() => _sandbox.WarmUpAsync();

    public (long Made, long Reuses)? WarmIsolates => (_sandbox.Statistics.WarmIsolatesMade, _sandbox.Statistics.WarmIsolateReuses);

    internal static Execution Describe(string status, string? resultJson, string? error, long memoryBytes)
    {
        string? value = null;
        if (resultJson is not null)
        {
            var root = JsonDocument.Parse(resultJson).RootElement;
            value = root.ValueKind == JsonValueKind.String ? root.GetString() : root.GetRawText();
        }
        return new Execution(status, value, error, memoryBytes / 1048576.0);
    }

    public ValueTask DisposeAsync() => _sandbox.DisposeAsync();
}

/// <summary>
/// <c>warden-http</c>: <c>warden serve</c> in this process, driven over loopback HTTP without an API key
/// or an isolationKey (so every request has the same, keyless isolation key). The isolation unit is set
/// the way an operator sets it, through the configuration key <c>Warden:Sandbox:IsolationUnit</c>.
/// </summary>
internal sealed class HttpExecutor : IExecutor
{
    private readonly WebApplication _app;
    private readonly HttpClient _client;

    private HttpExecutor(WebApplication app, HttpClient client)
    {
        _app = app;
        _client = client;
    }

    public static async Task<HttpExecutor> StartAsync(IsolationUnit unit)
    {
        var app = WardenServer.Build([$"--{WardenServer.SandboxSection}:IsolationUnit={unit}"], null, o => o.Urls = "http://127.0.0.1:0");
        // The configuration key must have reached the sandbox: a warm figure measured in Isolate mode
        // would be a lie.
        var bound = app.Services.GetRequiredService<SandboxOptions>().IsolationUnit;
        if (bound != unit)
        {
            throw new InvalidOperationException($"{WardenServer.SandboxSection}:IsolationUnit={unit} was bound as {bound}");
        }
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(WardenServer.ListeningAddresses(app)[0]), Timeout = TimeSpan.FromSeconds(60) };
        var clock = Stopwatch.StartNew();
        while (!(await client.GetAsync("/readyz")).IsSuccessStatusCode && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(50);
        }
        return new HttpExecutor(app, client);
    }

    public async Task<Execution> RunAsync(string code, string? inputJson, int timeoutMs, int memoryMb)
    {
        var body = new StringBuilder("{\"code\":").Append(JsonSerializer.Serialize(code));
        if (inputJson is not null)
        {
            body.Append(",\"input\":").Append(inputJson);
        }
        body.Append(",\"limits\":{\"timeoutMs\":").Append(timeoutMs).Append(",\"memoryMb\":").Append(Math.Max(SandboxLimits.MinMemoryMb, memoryMb)).Append("}}");
        using var response = await _client.PostAsync("/v1/run", new StringContent(body.ToString(), Encoding.UTF8, "application/json"));
        var outcome = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        if (!response.IsSuccessStatusCode)
        {
            return new Execution("http_" + (int)response.StatusCode, null, outcome.GetRawText());
        }
        string? resultJson = outcome.GetProperty("result").ValueKind == JsonValueKind.Null && outcome.GetProperty("status").GetString() != "ok"
            ? null : outcome.GetProperty("result").GetRawText();
        string? error = outcome.GetProperty("error") is { ValueKind: JsonValueKind.Object } e ? e.GetProperty("message").GetString() : null;
        return LibraryExecutor.Describe(outcome.GetProperty("status").GetString()!, resultJson, error,
            outcome.GetProperty("usage").GetProperty("memoryBytes").GetInt64());
    }

    public Task SettleAsync() => _app.Services.GetRequiredService<Sandbox>().WarmUpAsync();

    public (long Made, long Reuses)? WarmIsolates
    {
        get
        {
            var statistics = _app.Services.GetRequiredService<Sandbox>().Statistics;
            return (statistics.WarmIsolatesMade, statistics.WarmIsolateReuses);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
