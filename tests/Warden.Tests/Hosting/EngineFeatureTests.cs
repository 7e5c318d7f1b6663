using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Warden.Tests.Hosting;

/// <summary>Features whose memory the engine cannot account for exist only when the operator enables them.</summary>
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
                [typeof WebAssembly.Module, new SharedArrayBuffer(4).byteLength, typeof Atomics.add, sab.byteLength, sab.growable]
                """,
        });
        OutcomeAssert.Ok("[\"function\",4,\"function\",16,true]", outcome);
    }
}
