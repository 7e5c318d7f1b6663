using System.Text.Json;

namespace Warden.Bench.Runner;

/// <summary>
/// <c>Warden.Bench runner warden|warden-quickjs|warden-engine|warden-http WORKLOAD ...</c>: Warden's side of
/// bench/peers/PROTOCOL.md. Prints exactly one JSON line; any failure is a result, not a crash.
/// </summary>
internal static class RunnerCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout)
    {
        var parsed = RunnerArgs.Parse(args);
        RunnerResult result;
        try
        {
            // The -warm workloads run in each layer's warm mode: a reused isolate, a fresh context per execution.
            bool warm = Workloads.IsWarm(parsed.Workload);
            var unit = warm ? IsolationUnit.Context : IsolationUnit.Isolate;
            if (warm && parsed.System == "warden-quickjs")
            {
                // The quickjs engine has no warm mode: a fresh VM per execution is all it offers.
                stdout.WriteLine(JsonSerializer.Serialize(RunnerResult.Unsupported(parsed.System, parsed.Workload, "the quickjs engine has no warm mode"), RunnerResult.Json));
                return 0;
            }
            await using IExecutor executor = parsed.System switch
            {
                "warden-engine" => new EngineExecutor(reuseRuntime: warm),
                "warden" => await LibraryExecutor.StartAsync(unit),
                "warden-quickjs" => await LibraryExecutor.StartAsync(unit, "quickjs"),
                "warden-http" => await HttpExecutor.StartAsync(unit),
                _ => throw new ArgumentException("unknown system " + parsed.System),
            };
            result = await new WorkloadDriver(executor, Workloads.Load(Workloads.DefaultPath()), parsed).RunAsync();
            if (warm && WarmNote(parsed.System) is { } note)
            {
                // What the sandbox counted, so that a warm figure measured without reuse shows it.
                if (executor.WarmIsolates is var (made, reuses))
                {
                    note += $"; warm isolates made {made}, executions in a reused one {reuses}";
                }
                result = result with { Note = result.Note is null ? note : note + "; " + result.Note };
            }
        }
        catch (Exception e) when (e is not ArgumentException)
        {
            result = RunnerResult.Unsupported(parsed.System, parsed.Workload, "runner failed: " + e.GetType().Name + ": " + e.Message) with { Supported = true };
        }
        stdout.WriteLine(JsonSerializer.Serialize(result, RunnerResult.Json));
        stdout.Flush();
        return 0;
    }

    /// <summary>How a layer ran a -warm workload, stated in the result so the report can say it.</summary>
    private static string? WarmNote(string system)
    {
        var bounds = new WarmIsolateOptions();
        string keyed = $"no isolation key (keyless executions form one key); warm-isolate bounds at their defaults: "
            + $"MaxExecutions {bounds.MaxExecutions}, MaxAge {bounds.MaxAge.TotalSeconds:F0} s, MaxHeapGrowthMb {bounds.MaxHeapGrowthMb}";
        return system switch
        {
            "warden-engine" => "one V8Runtime reused, a fresh V8ScriptEngine (context) per execution",
            "warden" => "SandboxOptions.IsolationUnit = Context, " + keyed,
            "warden-http" => "Warden:Sandbox:IsolationUnit = Context, " + keyed,
            _ => null,
        };
    }
}
