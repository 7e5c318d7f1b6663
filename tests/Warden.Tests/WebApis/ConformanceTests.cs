using System.Text.Json;
using Warden.Protocol;

namespace Warden.Tests.WebApis;

/// <summary>
/// tests/conformance/cases.mjs run in Warden: every case must give the value the spec gives, and the
/// same value headless Chromium gave (tests/conformance/results/chromium.json, written by
/// run-in-chromium.sh on a real Chromium; checked in). The same cases also run on the quickjs engine,
/// where every case must give the spec's answer but the exact, documented list of QuickJS differences.
/// </summary>
[Collection("sandbox")]
public sealed class ConformanceTests(SandboxFixture fx)
{
    private static string Conformance(string file) => Path.Combine(AppContext.BaseDirectory, "conformance", file);

    private async Task<List<CaseResult>> RunInWardenAsync(string engine = EngineNames.V8)
    {
        var outcome = await fx.Sandbox.RunAsync(new Submission
        {
            Engine = engine,
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
        Assert.Equal(engine, outcome.Engine);
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

    /// <summary>
    /// The cases whose answer on the quickjs engine differs from the spec's (and V8's), with the value QuickJS gives.
    /// Each is explained in docs/web-apis.md ("On the <c>quickjs</c> engine"). Exact on purpose: a new difference
    /// fails the test, and so does a fixed one (then remove it here and from the docs).
    /// </summary>
    private static readonly Dictionary<string, string> KnownQuickJsDifferences = new(StringComparer.Ordinal)
    {
        // QuickJS-NG's own bug: get ArrayBuffer.prototype.maxByteLength returns the old maximum of a detached
        // resizable buffer instead of 0 (ECMA-262 step "If IsDetachedBuffer(O) is true, return +0").
        ["transfer keeps resizability, transferToFixedLength drops it"] = "[true,8,true,8,false,6,5]",
    };

    [Fact]
    public async Task EveryCaseGivesTheSpecsAnswerOnQuickJsButTheKnownDifferences()
    {
        var quickJs = await RunInWardenAsync(EngineNames.QuickJs);
        var v8 = await RunInWardenAsync();
        // The same cases ran, in the same order, on both engines: none was lost to an early failure.
        Assert.Equal(v8.Select(r => r.Name), quickJs.Select(r => r.Name));
        var unexpected = new List<string>();
        foreach (var result in quickJs)
        {
            bool known = KnownQuickJsDifferences.TryGetValue(result.Name, out var knownActual);
            if (!result.Pass && !known)
            {
                unexpected.Add($"{result.Name}: new difference on quickjs: got {result.Actual}, expected {result.Expected}");
            }
            else if (result.Pass && known)
            {
                unexpected.Add($"{result.Name}: passes on quickjs now: remove it from KnownQuickJsDifferences and docs/web-apis.md");
            }
            else if (known && result.Actual != knownActual)
            {
                unexpected.Add($"{result.Name}: quickjs gave {result.Actual}, the known difference is {knownActual}");
            }
        }
        unexpected.AddRange(KnownQuickJsDifferences.Keys.Except(quickJs.Select(r => r.Name))
            .Select(n => $"{n}: a known quickjs difference that no longer runs (renamed in cases.mjs?)"));
        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected));
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
