namespace Warden.Tests.Limits;

/// <summary>Memory bombs on and off the heap come back as <c>memory_limit</c>; churn that keeps little is not stopped.</summary>
[Collection("sandbox")]
public sealed class MemoryLimitTests(SandboxFixture fx)
{
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromSeconds(15);

    public static TheoryData<string, string> Bombs => new()
    {
        { "object heap bomb", "let x = {}; for (;;) x = { next: x, pad: [1, 2, 3, 4] }" },
        { "string heap bomb", "const a = []; for (let i = 0; ; i++) a.push('x'.repeat(64) + i)" },
        // Outruns ClearScript's sampled heap check: V8's hard limit aborts the worker instead.
        { "filled array bomb", "const a = []; for (;;) a.push(new Array(1000).fill(0))" },
        { "one huge array", "new Array(2 ** 28).fill(1.5); 1" },
        { "ArrayBuffer bomb", "const keep = []; for (;;) keep.push(new ArrayBuffer(1 << 20))" },
        { "typed array bomb", "const keep = []; for (;;) keep.push(new Float64Array(1 << 17))" },
        { "one huge ArrayBuffer", "new ArrayBuffer(2 ** 31); 1" },
        { "timer flood", "for (;;) setTimeout(() => {}, 1e9)" },
        { "string doubling", "let s = 'x'; for (;;) s = s + s; " },
    };

    [Theory]
    [MemberData(nameof(Bombs))]
    public async Task BombsComeBackAsMemoryLimit(string name, string code)
    {
        var (outcome, elapsed) = await fx.TimedAsync(new Submission
        {
            Code = code,
            Limits = new ExecutionLimits(TimeoutMs: 30_000, MemoryMb: 32),
        });
        // A string that outgrows V8's maximum string length is a RangeError inside the script:
        // the engine refused it, which is the limit doing its job without killing anything.
        if (name == "string doubling" && outcome.Status == OutcomeStatus.ScriptError)
        {
            Assert.Equal("RangeError", outcome.Error!.Name);
        }
        else
        {
            OutcomeAssert.Status(OutcomeStatus.MemoryLimit, outcome);
            Assert.NotNull(outcome.Error!.Limit);
        }
        Assert.True(elapsed < MaxElapsed, $"{name}: took {elapsed}");
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public async Task ArrayBufferLimitIsNamed()
    {
        var outcome = await fx.RunAsync("new ArrayBuffer(64 << 20); 1", memoryMb: 32);
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, outcome);
        Assert.Equal(LimitKind.ArrayBuffer, outcome.Error!.Limit);
    }

    [Fact]
    public async Task HeapLimitIsNamed()
    {
        var outcome = await fx.RunAsync("const a = []; for (let i = 0; ; i++) a.push({ i, s: 'v' + i })", memoryMb: 32, timeoutMs: 30_000);
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, outcome);
        Assert.Contains(outcome.Error!.Limit, new LimitKind?[] { LimitKind.Heap, LimitKind.Process });
    }

    [Theory]
    [InlineData("heap churn", "let sum = 0; for (let i = 0; i < 2000; i++) { const a = new Array(65536).fill(i); sum += a[7] } sum")]
    [InlineData("ArrayBuffer churn", "let sum = 0; for (let i = 0; i < 1000; i++) { const b = new Uint8Array(1 << 20); b[3] = i & 255; sum += b[3] } sum")]
    [InlineData("string churn", "let n = 0; for (let i = 0; i < 200; i++) { n += ('y'.repeat(1 << 20) + i).length } n")]
    public async Task ChurnThatKeepsLittleIsNotStopped(string name, string code)
    {
        // Each allocates about 1 GB in total with a 32 MB limit.
        var outcome = await fx.RunAsync(code, memoryMb: 32, timeoutMs: 30_000);
        Assert.True(outcome.Status == OutcomeStatus.Ok, $"{name}: {outcome.ToJson()}");
    }

    [Fact]
    public async Task OrdinaryArrayBuffersStillWork()
    {
        OutcomeAssert.Ok("[8,true,true,4]", await fx.RunAsync(
            "const b = new ArrayBuffer(8); [b.byteLength, b instanceof ArrayBuffer, new Uint8Array(4).buffer.constructor === ArrayBuffer, b.transfer(4).byteLength]"));
    }

    [Fact]
    public async Task MemoryUsageIsReported()
    {
        var outcome = await fx.RunAsync("const keep = new Uint8Array(8 << 20); keep[0] = 1; keep.length");
        OutcomeAssert.Ok("8388608", outcome);
        Assert.True(outcome.Usage.MemoryBytes >= 8 << 20, $"memoryBytes {outcome.Usage.MemoryBytes}");
    }
}
