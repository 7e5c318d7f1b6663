namespace Warden;

/// <summary>
/// What one execution gets to itself inside its worker (which already serves only one isolation key).
/// Chosen by the operator (<see cref="SandboxOptions.IsolationUnit"/>, or per submission by the application,
/// e.g. per API key), never by the untrusted request.
/// </summary>
public enum IsolationUnit
{
    /// <summary>
    /// A fresh engine isolate per execution (the default): nothing of one execution, not even the engine's
    /// heap, is shared with the next.
    /// </summary>
    Isolate,

    /// <summary>
    /// Executions with the same isolation key, engine and memory limit reuse a warm isolate in their worker,
    /// each in a fresh context (its own global object and built-ins), as Cloudflare Workers do. Several
    /// times the throughput of <see cref="Isolate"/> for small scripts. The residual risk: an engine bug
    /// that crosses contexts reaches the same key's later executions in that isolate (never another key's).
    /// The isolate is dropped after the bounds of <see cref="WarmIsolateOptions"/> and after any limit violation.
    /// Refused with <see cref="SandboxOptions.EnableWebAssembly"/> or <see cref="SandboxOptions.EnableSharedMemory"/>
    /// (their asynchronous completions would run one execution's callbacks during the next); a worker given both
    /// anyway runs every execution in a fresh isolate.
    /// </summary>
    Context,
}
