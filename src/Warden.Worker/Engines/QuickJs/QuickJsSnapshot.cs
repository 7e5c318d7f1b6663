namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// A QuickJS VM after initialisation, the prelude and its factory (everything an instance is before its execution
/// starts), as the bytes of its linear memory: each instance copies it instead of initialising QuickJS and
/// evaluating the prelude again (~0.2 ms instead of ~1.8 ms on this machine).
/// </summary>
/// <remarks>
/// SECURITY: made once per worker, before any submission, in a VM that runs Warden's own code only (its clock
/// fixed, and no bridge call answered); no byte of a VM that ran a script is ever copied into another. What an
/// instance must not share with the others is made fresh after the copy: <c>Math.random</c>'s seed, found in the
/// snapshot's memory as the state the VM's fixed clock gave it (exactly once, or there is no snapshot and every
/// instance initialises QuickJS itself), replaced by 64 bits of the host's CSPRNG. The web API bundle's global state is not in it: the bundle loads on first use,
/// inside the execution.
/// </remarks>
/// <param name="Memory">Linear memory from address 1 on (address 0 stays the fresh instance's zero).</param>
/// <param name="RandomStateAddress">Where QuickJS keeps <c>Math.random</c>'s 64-bit xorshift64* state.</param>
internal sealed record QuickJsSnapshot(byte[] Memory, int StackPointer, int Start, int Tick, int Scratch, int RandomStateAddress)
{
    private static readonly Lazy<QuickJsSnapshot?> Made = new(Make, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Without a snapshot every instance initialises QuickJS itself: slower, never wrong. A test checks that
    /// this build makes one (Worker/QuickJsSnapshotTests).</summary>
    private static QuickJsSnapshot? Make()
    {
        try
        {
            return QuickJsInstance.CreateSnapshot();
        }
        catch (Exception e) when (e is Wasmtime.WasmtimeException or EngineAbortException or GuestMemoryException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The worker's snapshot, made on first use (the engine's warm-up); null when it could not be made.</summary>
    public static QuickJsSnapshot? Current => Made.Value;
}
