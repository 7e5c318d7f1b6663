namespace Warden.Worker.Lockdown;

/// <summary>
/// What an engine needs from the kernel after lockdown beyond what the .NET runtime itself needs: the
/// parts of the seccomp allowlist (<see cref="SyscallPolicy"/>) that one engine's worker needs and
/// another's does not. Each engine declares its own (<c>IEngine.SyscallsAfterLockdown</c>), derived by
/// tracing its worker (tools/seccomp/README.md); the worker runs one engine, so its filter is that one's.
/// </summary>
[Flags]
internal enum EngineSyscalls
{
    /// <summary>Nothing beyond the runtime's own calls (QuickJS: Wasmtime compiled everything before lockdown).</summary>
    None = 0,

    /// <summary>
    /// New executable memory: <c>mmap</c> with <c>PROT_EXEC</c> and writable-and-executable pages (a JIT
    /// that emits code while scripts run: V8). Without it, only the .NET runtime's own way of making
    /// code stays open (<c>mprotect</c> to read+execute, which its JIT needs after lockdown too).
    /// </summary>
    ExecutableMemory = 1,

    /// <summary>Read-only <c>openat</c> (V8 reads its entropy source when it makes an isolate). Without it, every open is EPERM.</summary>
    ReadOnlyOpens = 2,
}
