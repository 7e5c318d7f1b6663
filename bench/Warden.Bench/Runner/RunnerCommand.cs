using System.Text.Json;

namespace Warden.Bench.Runner;

/// <summary>
/// <c>Warden.Bench runner warden|warden-engine|warden-http WORKLOAD ...</c>: Warden's side of
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
            await using IExecutor executor = parsed.System switch
            {
                "warden-engine" => new EngineExecutor(),
                "warden" => await LibraryExecutor.StartAsync(),
                "warden-http" => await HttpExecutor.StartAsync(),
                _ => throw new ArgumentException("unknown system " + parsed.System),
            };
            result = await new WorkloadDriver(executor, Workloads.Load(Workloads.DefaultPath()), parsed).RunAsync();
        }
        catch (Exception e) when (e is not ArgumentException)
        {
            result = RunnerResult.Unsupported(parsed.System, parsed.Workload, "runner failed: " + e.GetType().Name + ": " + e.Message) with { Supported = true };
        }
        stdout.WriteLine(JsonSerializer.Serialize(result, RunnerResult.Json));
        stdout.Flush();
        return 0;
    }
}
