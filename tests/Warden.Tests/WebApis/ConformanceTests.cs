using System.Text.Json;

namespace Warden.Tests.WebApis;

/// <summary>
/// tests/conformance/cases.mjs run in Warden: every case must give the value the spec gives, and the
/// same value headless Chromium gave (tests/conformance/results/chromium.json, written by
/// run-in-chromium.sh on a real Chromium; checked in).
/// </summary>
[Collection("sandbox")]
public sealed class ConformanceTests(SandboxFixture fx)
{
    private static string Conformance(string file) => Path.Combine(AppContext.BaseDirectory, "conformance", file);

    private async Task<List<CaseResult>> RunInWardenAsync()
    {
        var outcome = await fx.Sandbox.RunAsync(new Submission
        {
            Code = "import { runCases } from './harness.mjs'; export default await runCases('warden');",
            IsModule = true,
            Modules = new Dictionary<string, string>
            {
                ["harness.mjs"] = await File.ReadAllTextAsync(Conformance("harness.mjs")),
                ["cases.mjs"] = await File.ReadAllTextAsync(Conformance("cases.mjs")),
            },
            Limits = new ExecutionLimits(TimeoutMs: 20_000),
        });
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        return JsonSerializer.Deserialize<List<CaseResult>>(outcome.ResultJson!, JsonOptions)!;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    [Fact]
    public async Task EveryCaseGivesTheSpecsAnswerInWarden()
    {
        var results = await RunInWardenAsync();
        Assert.True(results.Count >= 90, $"only {results.Count} cases ran");
        var failures = results.Where(r => !r.Pass).Select(r => $"{r.Name}: got {r.Actual}, expected {r.Expected}").ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task ChromiumGaveTheSameAnswersForEverySharedCase()
    {
        var chromium = JsonSerializer.Deserialize<ChromiumRun>(await File.ReadAllTextAsync(Conformance("chromium.json")), JsonOptions)!;
        Assert.StartsWith("Mozilla/5.0", chromium.UserAgent);
        Assert.Contains("Chrome/", chromium.UserAgent);
        var warden = (await RunInWardenAsync()).ToDictionary(r => r.Name);
        var differences = new List<string>();
        foreach (var result in chromium.Results)
        {
            if (!result.Pass)
            {
                differences.Add($"{result.Name}: Chromium got {result.Actual}, expected {result.Expected}");
            }
            else if (!warden.TryGetValue(result.Name, out var ours))
            {
                differences.Add($"{result.Name}: ran in Chromium, not in Warden (cases.mjs changed since the Chromium run?)");
            }
            else if (ours.Actual != result.Actual)
            {
                differences.Add($"{result.Name}: Warden {ours.Actual}, Chromium {result.Actual}");
            }
        }
        var missing = warden.Keys.Except(chromium.Results.Select(r => r.Name)).Where(n => !WardenOnly.Contains(n)).ToList();
        differences.AddRange(missing.Select(n => $"{n}: not run in Chromium yet (run tests/conformance/run-in-chromium.sh)"));
        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }

    /// <summary>Cases marked <c>only: 'warden'</c> in cases.mjs (Chromium is expected to differ).</summary>
    private static readonly HashSet<string> WardenOnly = ReadWardenOnlyNames();

    private static HashSet<string> ReadWardenOnlyNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Conformance("cases.mjs")))
        {
            int only = line.IndexOf("only: 'warden'", StringComparison.Ordinal);
            int start = line.IndexOf("name: '", StringComparison.Ordinal);
            if (only >= 0 && start >= 0)
            {
                start += "name: '".Length;
                names.Add(line[start..line.IndexOf('\'', start)]);
            }
        }
        return names;
    }

    private sealed record CaseResult(string Name, bool Pass, string Actual, string Expected);

    private sealed record ChromiumRun(string UserAgent, List<CaseResult> Results);
}
