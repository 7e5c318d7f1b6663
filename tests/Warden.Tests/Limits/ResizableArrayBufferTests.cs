using Xunit.Abstractions;

namespace Warden.Tests.Limits;

/// <summary>
/// ES2024 resizable ArrayBuffers work as in Chrome, and their bytes are counted against the
/// execution's memory budget by the prelude (V8 reserves and commits them outside the ArrayBuffer
/// allocator that MaxArrayBufferAllocation limits). Attacks run at 128 MB.
/// </summary>
[Collection("sandbox")]
public sealed class ResizableArrayBufferTests(SandboxFixture fx, ITestOutputHelper output)
{
    private const int MemoryMb = 128;
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromSeconds(15);
    /// <summary>What the worker may grow by for a 128 MB budget (V8's memory rule: 1.25 × N + 64 MB).</summary>
    private const long MaxGrowthBytes = (MemoryMb * 5L / 4 + 64) << 20;

    public static TheoryData<string, string> Bombs => new()
    {
        { "maxByteLength past the budget", "new ArrayBuffer(8, { maxByteLength: 2 ** 32 })" },
        { "through Reflect.construct", "Reflect.construct(ArrayBuffer, [8, { maxByteLength: 2 ** 32 }])" },
        { "through a buffer's constructor", "new (new Uint8Array(1).buffer.constructor)(8, { maxByteLength: 2 ** 32 })" },
        { "through a subclass", "class B extends ArrayBuffer {}; new B(8, { maxByteLength: 2 ** 32 })" },
        { "through another newTarget", "Reflect.construct(ArrayBuffer, [8, { maxByteLength: 2 ** 32 }], function () {})" },
        { "options getter answering twice", "let n = 0; new ArrayBuffer(8, { get maxByteLength() { return n++ === 0 ? 2 ** 32 : 8; } })" },
        { "grown and kept", "const keep = []; for (;;) { const b = new ArrayBuffer(0, { maxByteLength: 16 << 20 }); b.resize(16 << 20); new Uint8Array(b).fill(1); keep.push(b); }" },
        { "made at full length and kept", "const keep = []; for (;;) { const b = new ArrayBuffer(16 << 20, { maxByteLength: 16 << 20 }); new Uint8Array(b).fill(1); keep.push(b); }" },
        { "resize through the prototype", "const keep = []; for (;;) { const b = new ArrayBuffer(0, { maxByteLength: 64 << 20 }); ArrayBuffer.prototype.resize.call(b, 64 << 20); new Uint8Array(b).fill(1); keep.push(b); }" },
        { "transfer to a longer buffer", "const keep = []; for (;;) { const b = new ArrayBuffer(0, { maxByteLength: 32 << 20 }); const t = b.transfer(32 << 20); new Uint8Array(t).fill(1); keep.push(t); }" },
        { "subclass whose prototype read makes more", """
            const keep = [];
            const target = new Proxy(function () {}, { get(t, k) { if (k === 'prototype' && keep.length < 8) keep.push(Reflect.construct(ArrayBuffer, [100 << 20, { maxByteLength: 100 << 20 }], target)); return Reflect.get(t, k); } });
            Reflect.construct(ArrayBuffer, [100 << 20, { maxByteLength: 100 << 20 }], target);
            """ },
        // Each live one holds memory mappings; ~32,700 of them exhausted the kernel's limit and aborted V8.
        { "many small ones kept", "const keep = []; for (;;) keep.push(new ArrayBuffer(8, { maxByteLength: 1 << 20 }))" },
    };

    [Theory]
    [MemberData(nameof(Bombs))]
    public async Task BombsAreRefusedAsArrayBufferMemoryLimit(string name, string code)
    {
        await using var probe = await AttackProbe.StartAsync();
        var run = await probe.RunAsync(code, MemoryMb);
        output.WriteLine(run.ToString());
        OutcomeAssert.Status(OutcomeStatus.MemoryLimit, run.Outcome);
        Assert.True(LimitKind.ArrayBuffer == run.Outcome.Error!.Limit, $"{name}: {run}");
        Assert.StartsWith("Array buffer allocation failed", run.Outcome.Error.Message);
        Assert.True(run.Elapsed < MaxElapsed, $"{name}: {run}");
        Assert.True(run.ResidentGrowthBytes < MaxGrowthBytes, $"{name}: {run}");
        Assert.True(run.Outcome.Usage.MemoryBytes < MaxGrowthBytes, $"{name}: {run}");
        Assert.True(run.NoWorkerDied, $"{name}: {run}");
        await probe.AssertHealthyAsync();
    }

    [Fact]
    public async Task ACaughtRefusalLeavesTheScriptRunning()
    {
        await using var probe = await AttackProbe.StartAsync();
        var run = await probe.RunAsync("""
            const b = new ArrayBuffer(0, { maxByteLength: 100 << 20 });
            const c = new ArrayBuffer(0, { maxByteLength: 100 << 20 });
            b.resize(100 << 20);
            let refused;
            try { c.resize(100 << 20); } catch (e) { refused = e.name; }
            b.resize(0);
            c.resize(100 << 20);   // fits once b gave its bytes back
            [refused, b.byteLength, c.byteLength]
            """, MemoryMb);
        OutcomeAssert.Ok($"[\"RangeError\",0,{100 << 20}]", run.Outcome);
        Assert.True(run.NoWorkerStarted, run.ToString());
        await probe.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("throw new RangeError('Array buffer allocation failed')")]
    [InlineData("throw new RangeError('Array buffer allocation failed: resizable buffers would hold more than this execution\\'s memory budget')")]
    [InlineData("try { new ArrayBuffer(1, { maxByteLength: 2 ** 40 }) } catch (e) { throw new RangeError(e.message) }")]
    // A genuine engine RangeError of another kind (an invalid length), relabelled (found by an attack review).
    [InlineData("let e; try { new ArrayBuffer(-1) } catch (x) { e = x } e.message = 'Array buffer allocation failed: forged'; throw e")]
    [InlineData("let e; try { new Uint8Array(-1) } catch (x) { e = x } Object.defineProperty(e, 'message', { get: () => 'Array buffer allocation failed' }); throw e")]
    // A genuine refusal whose message was changed afterwards.
    [InlineData("let e; try { new ArrayBuffer(1, { maxByteLength: 2 ** 40 }) } catch (x) { e = x } e.message = 'Array buffer allocation failed'; throw e")]
    public async Task ALookAlikeRangeErrorIsTheScriptsOwn(string code)
    {
        var outcome = await fx.RunAsync(code, memoryMb: MemoryMb);
        OutcomeAssert.Failed(OutcomeStatus.ScriptError, "RangeError", outcome);
        Assert.Null(outcome.Error!.Limit);
    }

    [Fact]
    public async Task ResizingUpAndDownCannotForceACollectionEveryTurn()
    {
        // An attack review's loop: a heap of a million objects (so a full collection costs ~0.4 s,
        // uninterruptible), the live count held at its cap, then every turn one buffer resized up by
        // an eighth of the budget and down again, and one more buffer asked for. Each refusal used to
        // force a full collection (30 turns: ~12 s of them); now only buffers made, and growth past a
        // buffer's own high-water mark, count towards one. The resizing itself costs ~2 s (16 MB committed and
        // zeroed each turn).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outcome = await fx.RunAsync("""
            const heap = []; for (let i = 0; i < 1e6; i++) heap.push({ i });
            const held = [];
            for (let i = 0; i < 19999; i++) held.push(new ArrayBuffer(1, { maxByteLength: 4096 }));
            const big = new ArrayBuffer(0, { maxByteLength: 16 << 20 });
            let refused = 0;
            for (let i = 0; i < 30; i++) {
              big.resize(16 << 20); big.resize(0);
              try { held.push(new ArrayBuffer(1, { maxByteLength: 4096 })) } catch (e) { refused++ }
            }
            [refused, heap.length]
            """, memoryMb: MemoryMb, timeoutMs: 30_000);
        var elapsed = clock.Elapsed;
        output.WriteLine($"{elapsed.TotalMilliseconds:F0} ms: {outcome.ToJson()}");
        OutcomeAssert.Ok("[30,1000000]", outcome);
        Assert.True(elapsed < TimeSpan.FromSeconds(9), $"took {elapsed}");
        await fx.AssertHealthyAsync();
    }

    [Theory]
    // Dropped across timers: a full collection (forced when a cap is reached) lets their count go.
    [InlineData("small ones, 100,000 in all", """
        let made = 0;
        new Promise((resolve) => {
          function batch() {
            for (let i = 0; i < 5000; i++) { const b = new ArrayBuffer(8, { maxByteLength: 1 << 20 }); b.resize(4096); made++; }
            if (made < 100000) setTimeout(batch, 0); else resolve(made);
          }
          batch();
        })
        """, "100000")]
    // 768 MB in all through a 128 MB budget.
    [InlineData("large ones, 768 MB in all", """
        let made = 0;
        new Promise((resolve) => {
          function batch() {
            for (let i = 0; i < 2; i++) { const b = new ArrayBuffer(0, { maxByteLength: 48 << 20 }); b.resize(48 << 20); new Uint8Array(b)[(48 << 20) - 1] = 1; made++; }
            if (made < 16) setTimeout(batch, 0); else resolve(made);
          }
          batch();
        })
        """, "16")]
    // Transferred and shrunk buffers give their bytes back at once, without any collection (a
    // transfer copies: ~100 MB/s of fresh pages on the CI machine, and uninterruptible, so kept small).
    [InlineData("transfer and shrink", """
        let b = new ArrayBuffer(0, { maxByteLength: 100 << 20 });
        for (let i = 0; i < 40; i++) { b.resize(100 << 20); b = b.transfer(1 << 20); b.resize(0); }
        const f = b.transferToFixedLength(1); f.byteLength
        """, "1")]
    public async Task ChurnThatKeepsLittleIsNotStopped(string name, string code, string expected)
    {
        await using var probe = await AttackProbe.StartAsync();
        var run = await probe.RunAsync(code, MemoryMb, timeoutMs: 30_000);
        output.WriteLine(run.ToString());
        Assert.True(run.Outcome.Status == OutcomeStatus.Ok && run.Outcome.ResultJson == expected, $"{name}: {run}");
        Assert.True(run.ResidentGrowthBytes < MaxGrowthBytes, $"{name}: {run}");
        Assert.True(run.NoWorkerStarted, $"{name}: {run}");
    }

    [Fact]
    public async Task ResizableBuffersBehaveAsInChrome()
    {
        var outcome = await fx.RunAsync("""
            const r = {};
            const b = new ArrayBuffer(8, { maxByteLength: 64 });
            const tracking = new Uint8Array(b), fixed = new Uint8Array(b, 0, 4);
            b.resize(32);
            r.grown = [b.byteLength, tracking.length, fixed.length, b.resizable, b.maxByteLength];
            b.resize(2);
            r.shrunk = [tracking.length, fixed.length, fixed.byteOffset];
            const t = b.transfer(48);
            r.transfer = [b.detached, b.byteLength, t.byteLength, t.resizable, t.maxByteLength];
            const f = t.transferToFixedLength();
            r.fixed = [t.detached, f.resizable, f.byteLength];
            r.slice = new ArrayBuffer(4, { maxByteLength: 8 }).slice(1).resizable;
            class Sub extends ArrayBuffer {}
            const s = new Sub(4, { maxByteLength: 8 }); s.resize(8);
            r.subclass = [s instanceof Sub, s.resizable, s.byteLength];
            let reads = 0;
            new ArrayBuffer(1, { get maxByteLength() { reads++; return 4; } });
            r.optionsRead = reads;
            r.notResizable = [new ArrayBuffer(4, {}).resizable, new ArrayBuffer(4, { maxByteLength: undefined }).resizable];
            r.errors = [];
            for (const f of [() => new ArrayBuffer(8, { maxByteLength: 4 }), () => new ArrayBuffer(4, { maxByteLength: 8 }).resize(9),
                             () => new ArrayBuffer(4).resize(2), () => ArrayBuffer.prototype.resize.call({}, 1)]) {
              try { f(); r.errors.push('none'); } catch (e) { r.errors.push(e.name); }
            }
            r.methods = [ArrayBuffer.prototype.resize.name, ArrayBuffer.prototype.resize.length, ArrayBuffer.prototype.transfer.length,
                         ArrayBuffer.prototype.transferToFixedLength.length, 'prototype' in ArrayBuffer.prototype.resize];
            const c = structuredClone(new ArrayBuffer(2, { maxByteLength: 16 }));
            r.cloned = [c.resizable, c.maxByteLength, c.byteLength];
            r
            """, memoryMb: MemoryMb);
        OutcomeAssert.Ok("""
            {"grown":[32,32,4,true,64],"shrunk":[2,0,0],"transfer":[true,0,48,true,64],"fixed":[true,false,48],
             "slice":false,"subclass":[true,true,8],"optionsRead":1,"notResizable":[false,false],
             "errors":["RangeError","RangeError","TypeError","TypeError"],
             "methods":["resize",1,0,0,false],"cloned":[true,16,2]}
            """, outcome);
    }

    [Fact]
    public async Task ResizableBytesShowInTheMemoryUsage()
    {
        var outcome = await fx.RunAsync("const b = new ArrayBuffer(0, { maxByteLength: 64 << 20 }); b.resize(32 << 20); new Uint8Array(b).fill(1); b.byteLength", memoryMb: MemoryMb);
        OutcomeAssert.Ok((32 << 20).ToString(), outcome);
        Assert.True(outcome.Usage.MemoryBytes >= 32 << 20, $"memoryBytes {outcome.Usage.MemoryBytes}");
    }
}
