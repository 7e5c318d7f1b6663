using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Warden.Cli;
using Warden.Server;
using Warden.Tests.Server;

namespace Warden.Tests.Limits;

/// <summary>
/// Inputs of a few megabytes are ordinary (a data transform's export): they run at the defaults through the
/// library, `warden run` and `warden serve`; `warden run`'s --max-* flags raise and lower every limit.
/// </summary>
[Collection("sandbox")]
public sealed class LargeInputTests(SandboxFixture fx, ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("warden-large-input-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A typical export: an array of flat records, about <paramref name="bytes"/> bytes of JSON.</summary>
    internal static string Export(int bytes)
    {
        var json = new StringBuilder(bytes + 256).Append('[');
        for (int i = 0; json.Length < bytes - 128; i++)
        {
            json.Append(i == 0 ? "" : ",").Append("{\"id\":").Append(i).Append(",\"name\":\"item ").Append(i)
                .Append("\",\"tags\":[\"a\",\"b\"],\"price\":").Append(i % 100).Append(".25,\"active\":").Append(i % 2 == 0 ? "true" : "false").Append('}');
        }
        return json.Append(']').ToString();
    }

    private const string Transform = "({ count: input.length, total: input.reduce((s, r) => s + r.price, 0), last: input[input.length - 1].id })";

    private static void AssertTransformed(string inputJson, JsonElement result)
    {
        var records = JsonDocument.Parse(inputJson).RootElement;
        Assert.Equal(records.GetArrayLength(), result.GetProperty("count").GetInt32());
        Assert.Equal(records.EnumerateArray().Sum(r => r.GetProperty("price").GetDouble()), result.GetProperty("total").GetDouble(), 3);
        Assert.Equal(records[records.GetArrayLength() - 1].GetProperty("id").GetInt32(), result.GetProperty("last").GetInt32());
    }

    [Fact]
    public async Task ASevenMegabyteInputRunsAtTheDefaultsInTheLibrary()
    {
        string input = Export(7 << 20);
        var (outcome, elapsed) = await fx.TimedAsync(new Submission { Code = Transform, InputJson = input });
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        AssertTransformed(input, JsonDocument.Parse(outcome.ResultJson!).RootElement);
        Console.WriteLine($"7 MiB input: {outcome.Usage.WallMs:F0} ms in the worker, {elapsed.TotalMilliseconds:F0} ms end to end, heap {outcome.Usage.MemoryBytes >> 20} MiB");
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task ParsingTheLargestDefaultInputIsMeasuredAgainstTheKillGrace()
    {
        // 16 MiB, the default maximum: JSON.parse of the input is one call that cannot be interrupted.
        string input = Export(16 << 20);
        Assert.True(Encoding.UTF8.GetByteCount(input) <= new SandboxLimits().MaxInputBytes);
        var small = await fx.RunAsync("input.length", input: "[1]", memoryMb: 512);
        var (outcome, elapsed) = await fx.TimedAsync(new Submission { Code = "input.length", InputJson = input, Limits = new ExecutionLimits(null, null, 512) });
        OutcomeAssert.Status(OutcomeStatus.Ok, outcome);
        // Inside the worker; reparse once more from script code to time JSON.parse alone.
        var reparse = await fx.RunAsync("const s = JSON.stringify(input); const t = performance.now(); JSON.parse(s); performance.now() - t", input: input, memoryMb: 512);
        OutcomeAssert.Status(OutcomeStatus.Ok, reparse);
        double parseMs = double.Parse(reparse.ResultJson!, System.Globalization.CultureInfo.InvariantCulture);
        Console.WriteLine($"16 MiB input: execution {outcome.Usage.WallMs:F0} ms (1-element input: {small.Usage.WallMs:F0} ms), JSON.parse alone {parseMs:F0} ms, end to end {elapsed.TotalMilliseconds:F0} ms, heap {outcome.Usage.MemoryBytes >> 20} MiB");
        // And at the default memory limit, the same input is still an ordinary execution, or a clean memory_limit.
        var atDefault = await fx.RunAsync("input.length", input: input);
        Console.WriteLine($"16 MiB input at the default memory: {atDefault.Status} in {atDefault.Usage.WallMs:F0} ms");
        Assert.True(atDefault.Status is OutcomeStatus.Ok or OutcomeStatus.MemoryLimit, atDefault.ToJson());

        // A timeout shorter than the parse: the parse cannot be interrupted, so the execution ends as a
        // timeout once it returns, or through the kill grace (a worker lost). Either way, promptly.
        long startsBefore = fx.Sandbox.Statistics.WorkersStarted;
        var (tiny, tinyElapsed) = await fx.TimedAsync(new Submission { Code = "input.length", InputJson = input, Limits = new ExecutionLimits(50, null, 512) });
        OutcomeAssert.Status(OutcomeStatus.Timeout, tiny);
        await fx.AssertHealthyAsync();
        long workerStarts = fx.Sandbox.Statistics.WorkersStarted - startsBefore;
        Console.WriteLine($"16 MiB input, 50 ms timeout: {tiny.Status} after {tinyElapsed.TotalMilliseconds:F0} ms ({tiny.Usage.WallMs:F0} ms in the worker), worker starts since: {workerStarts}");
        Assert.True(tinyElapsed < TimeSpan.FromSeconds(15), $"took {tinyElapsed}");
    }

    private static async Task<(int Exit, JsonElement Outcome)> CliAsync(params string[] args)
    {
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        int exit = await WardenCommandLine.InvokeAsync(args, stdout, stderr, new MemoryStream());
        var line = Assert.Single(Encoding.UTF8.GetString(stdout.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        return (exit, JsonDocument.Parse(line).RootElement.Clone());
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task ASevenMegabyteInputFileRunsAtTheDefaultsInTheCli()
    {
        string input = Export(7 << 20);
        var clock = Stopwatch.StartNew();
        var (exit, outcome) = await CliAsync("run", Write("t.js", Transform), "--input-file", Write("export.json", input));
        Assert.True(exit == 0, outcome.ToString());
        AssertTransformed(input, outcome.GetProperty("result"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task LimitFlagsRaiseAndLowerTheLimits()
    {
        string script = Write("len.js", "input.length");
        // Lowered: an input the defaults allow is refused before any worker starts.
        var (exit, outcome) = await CliAsync("run", script, "--input-file", Write("small.json", Export(4096)), "--max-input-bytes", "1000");
        Assert.Equal(64, exit);
        Assert.Contains("the limit is 1000", outcome.GetProperty("error").GetProperty("message").GetString());
        // Raised: past the 16 MiB default, within the 64 MiB maximum.
        string big = Export(17 << 20);
        (exit, outcome) = await CliAsync("run", script, "--input-file", Write("big.json", big), "--memory", "1024");
        Assert.Equal(64, exit);
        (exit, outcome) = await CliAsync("run", script, "--input-file", Write("big.json", big), "--memory", "1024", "--max-input-bytes", (32 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(exit == 0, outcome.ToString());
        Assert.Equal(JsonDocument.Parse(big).RootElement.GetArrayLength(), outcome.GetProperty("result").GetInt32());

        // Code, console, result and error text, each lowered.
        (exit, outcome) = await CliAsync("run", Write("long.js", "/*" + new string('x', 200) + "*/ 1"), "--max-code-bytes", "100");
        Assert.Equal(64, exit);
        (exit, outcome) = await CliAsync("run", Write("logs.js", "console.log(1); console.log(2); 3"), "--max-console-entries", "1");
        Assert.Equal("output_limit", outcome.GetProperty("status").GetString());
        (exit, outcome) = await CliAsync("run", Write("chatty.js", "console.log('y'.repeat(500)); 3"), "--max-console-bytes", "100");
        Assert.Equal("output_limit", outcome.GetProperty("status").GetString());
        (exit, outcome) = await CliAsync("run", Write("result.js", "'r'.repeat(500)"), "--max-result-bytes", "100");
        Assert.Equal("output_limit", outcome.GetProperty("status").GetString());
        (exit, outcome) = await CliAsync("run", Write("throw.js", "throw new Error('e'.repeat(5000))"), "--max-error-text-bytes", "300");
        Assert.Equal(1, exit);
        Assert.True(Encoding.UTF8.GetByteCount(outcome.GetProperty("error").GetProperty("message").GetString()!) <= 300);
        // And raised: a result and console past their 1 MiB defaults.
        (exit, outcome) = await CliAsync("run", Write("bigresult.js", "console.log('c'.repeat(2 << 20)); 'r'.repeat(2 << 20)"),
            "--max-result-bytes", (4 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--max-console-bytes", (4 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(exit == 0, outcome.GetProperty("status").GetString());
        Assert.Equal(2 << 20, outcome.GetProperty("result").GetString()!.Length);
    }

    public static TheoryData<string, string> BadLimitFlags => new()
    {
        { "--max-input-bytes", "0" },
        { "--max-input-bytes", ((64 << 20) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) },
        { "--max-input-bytes", "lots" },
        { "--max-code-bytes", "-1" },
        { "--max-code-bytes", ((16 << 20) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) },
        { "--max-console-bytes", "-5" },
        { "--max-console-entries", "1000001" },
        { "--max-result-bytes", "15" },
        { "--max-error-text-bytes", "255" },
        { "--max-result-bytes", "99999999999" },
        { "--memory", "4097" },
        { "--timeout", ((15 * 60 * 1000) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) },
        { "--cpu", "0" },
    };

    [Theory]
    [MemberData(nameof(BadLimitFlags))]
    public async Task ABadLimitFlagValueIsAnInvalidRequest(string flag, string value)
    {
        var (exit, outcome) = await CliAsync("run", Write("one.js", "1"), flag, value);
        Assert.Equal(64, exit);
        Assert.Equal("invalid_request", outcome.GetProperty("status").GetString());
        Assert.Contains(flag.TrimStart('-').Split('-')[^1], outcome.GetProperty("error").GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task EveryLimitFlagIsInTheHelp()
    {
        using var stdout = new MemoryStream();
        int exit = await WardenCommandLine.InvokeAsync(["run", "--help"], stdout, new StringWriter(), new MemoryStream());
        Assert.Equal(0, exit);
        string help = Encoding.UTF8.GetString(stdout.ToArray());
        foreach (var flag in new[] { "--max-code-bytes", "--max-input-bytes", "--max-console-bytes", "--max-console-entries", "--max-result-bytes", "--max-error-text-bytes", "--memory", "--timeout", "--cpu" })
        {
            Assert.Contains(flag, help);
        }
    }

    [Fact]
    public async Task TheHttpBodyLimitFitsASevenAndASixteenMegabyteInput()
    {
        Assert.True(new ServerOptions().MaxRequestBodyBytes >= (16 << 20) + 6 * new SandboxLimits().MaxCodeBytes);
        string seven = Export(7 << 20);
        var clock = Stopwatch.StartNew();
        var (status, body, _) = await server.PostAsync("{\"code\":" + JsonSerializer.Serialize(Transform) + ",\"input\":" + seven + "}");
        Assert.Equal(200, status);
        Assert.True(body.GetProperty("status").GetString() == "ok", body.ToString());
        AssertTransformed(seven, body.GetProperty("result"));
        Console.WriteLine($"HTTP 7 MiB input: {clock.ElapsedMilliseconds} ms");

        // 16 MiB of input, the default maximum, with the most code the defaults allow escaped at its worst
        // (every character a control character: 6 bytes each): the body limit still takes it.
        string sixteen = Export((16 << 20) - 64);
        string code = "'" + new string('\u0001', (1 << 20) - 16) + "'.length";
        string request = "{\"code\":" + JsonSerializer.Serialize(code) + ",\"input\":" + sixteen + ",\"limits\":{\"memoryMb\":512,\"timeoutMs\":20000}}";
        Assert.True(Encoding.UTF8.GetByteCount(request) > (16 << 20) + (5 << 20));
        (status, body, _) = await server.PostAsync(request);
        Assert.Equal(200, status);
        Assert.True(body.GetProperty("status").GetString() == "ok", body.ToString());
        Assert.Equal((1 << 20) - 16, body.GetProperty("result").GetInt32());
        var (healthy, healthyBody, _) = await server.PostAsync("""{ "code": "input.n + 1", "input": { "n": 41 } }""");
        Assert.Equal(200, healthy);
        Assert.Equal(42, healthyBody.GetProperty("result").GetInt32());
    }
}
