using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Warden.Tests.Hosting;

/// <summary>Features whose memory the engine cannot account for exist only when the operator enables them; growable shared buffers are then counted by the prelude.</summary>
[Collection("sandbox")]
public sealed class EngineFeatureTests
{
    [Fact]
    public async Task OperatorCanEnableUnaccountedFeatures()
    {
        var options = Options.Create(new SandboxOptions
        {
            MaxWorkers = 1,
            SpareWorkers = 0,
            EnableWebAssembly = true,
            EnableSharedMemory = true,
        });
        await using var sandbox = new Sandbox(options, NullLogger<Sandbox>.Instance);
        var outcome = await sandbox.RunAsync(new Submission
        {
            Code = """
                const sab = new SharedArrayBuffer(8, { maxByteLength: 64 }); sab.grow(16);
                // Growable shared buffers are counted against the memory budget like resizable ones.
                let refused = [];
                try { new SharedArrayBuffer(1, { maxByteLength: 2 ** 40 }); } catch (e) { refused.push(e.message.startsWith('Array buffer allocation failed')); }
                const big = new SharedArrayBuffer(0, { maxByteLength: 100 << 20 }); big.grow(100 << 20);
                const other = new SharedArrayBuffer(0, { maxByteLength: 100 << 20 });
                try { SharedArrayBuffer.prototype.grow.call(other, 100 << 20); } catch (e) { refused.push(e.name, other.byteLength); }
                [typeof WebAssembly.Module, new SharedArrayBuffer(4).byteLength, typeof Atomics.add, sab.byteLength, sab.growable, refused]
                """,
            Limits = new ExecutionLimits(MemoryMb: 128),
        });
        OutcomeAssert.Ok("[\"function\",4,\"function\",16,true,[true,\"RangeError\",0]]", outcome);
    }
}
