using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Warden.Bench;

/// <summary>
/// What one fetch costs a script in Warden (bench/fetch/run.sh): N sequential fetches of a loopback URL, each body read
/// as text, in one execution granted the URL's origin; per fetch, the execution's wall time over N. Three rounds after
/// a warm-up, one JSON line like the peers'. <c>dotnet</c> measures .NET's HttpClient alone (the host's own floor).
/// <c>hostcall-v8</c> and <c>hostcall-quickjs</c> measure N calls of an empty host function instead (the host-call path
/// alone, no HTTP).
/// Usage: Warden.Bench fetch URL N v8|quickjs|dotnet|hostcall-v8|hostcall-quickjs
/// </summary>
internal static class FetchCommand
{
    public static async Task RunAsync(string[] args)
    {
        string url = args[0];
        int count = int.Parse(args[1], CultureInfo.InvariantCulture);
        string system = args[2];
        var rounds = new List<double>();
        if (system == "dotnet")
        {
            using var http = new HttpClient();
            for (int r = 0; r < 4; r++)
            {
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < count; i++)
                {
                    _ = await http.GetStringAsync(url);
                }
                rounds.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds / count);
            }
        }
        else if (system.StartsWith("hostcall-", StringComparison.Ordinal))
        {
            var options = new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0, DefaultEngine = system["hostcall-".Length..] };
            options.Limits.MaxHostCalls = 100_000;
            options.Limits.MaxTimeoutMs = 600_000;
            options.HostFunctions.Add("ping", System.Text.Json.Nodes.JsonNode? (args, call) => System.Text.Json.Nodes.JsonValue.Create("ok"));
            await using var sandbox = new Sandbox(options);
            var submission = new Submission
            {
                Code = $$"""
                    (async () => {
                      const { ping } = await import('warden:host');
                      let bytes = 0;
                      for (let i = 0; i < {{count}}; i++) bytes += (await ping(i)).length;
                      return bytes;
                    })()
                    """,
                HostFunctions = ["ping"],
                Limits = new ExecutionLimits(TimeoutMs: 600_000),
            };
            for (int r = 0; r < 4; r++)
            {
                var outcome = await sandbox.RunAsync(submission);
                if (outcome.Status != OutcomeStatus.Ok)
                {
                    throw new InvalidOperationException(outcome.ToJson());
                }
                rounds.Add(outcome.Usage.WallMs / count);
            }
        }
        else
        {
            var uri = new Uri(url);
            string origin = uri.GetLeftPart(UriPartial.Authority);
            var options = new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0, DefaultEngine = system };
            options.Limits.MaxHostCalls = 100_000;
            options.Limits.MaxTimeoutMs = 600_000;
            options.FetchOrigins.Add(origin);
            await using var sandbox = new Sandbox(options);
            var submission = new Submission
            {
                Code = $$"""
                    (async () => {
                      let bytes = 0;
                      for (let i = 0; i < {{count}}; i++) bytes += (await (await fetch({{JsonSerializer.Serialize(url)}})).text()).length;
                      return bytes;
                    })()
                    """,
                FetchOrigins = [origin],
                Limits = new ExecutionLimits(TimeoutMs: 600_000, MemoryMb: 256),
            };
            for (int r = 0; r < 4; r++)
            {
                var outcome = await sandbox.RunAsync(submission);
                if (outcome.Status != OutcomeStatus.Ok)
                {
                    throw new InvalidOperationException(outcome.ToJson());
                }
                rounds.Add(outcome.Usage.WallMs / count);
            }
        }
        // The first round is the warm-up (connections, the web API bundle's first load, JIT).
        Console.WriteLine(JsonSerializer.Serialize(new { system = system.StartsWith("hostcall-", StringComparison.Ordinal) ? "warden-" + system + " (no HTTP)" : "warden-" + system, count, perFetchMs = rounds.Skip(1).ToArray() }));
    }
}
