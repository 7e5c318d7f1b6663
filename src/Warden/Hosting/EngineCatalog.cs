using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>
/// The engines a sandbox offers and what each can do: the one list that submission validation, the options'
/// validation and the pool agree on.
/// </summary>
internal static class EngineCatalog
{
    private static readonly string[] Production = [EngineNames.V8, EngineNames.QuickJs];
    private static readonly string[] WithTestEngine = [EngineNames.V8, EngineNames.QuickJs, EngineNames.Test];

    /// <summary><c>v8</c> and <c>quickjs</c>; and <c>test</c> when the tests enabled it (<see cref="SandboxOptions.EnableTestEngine"/>).</summary>
    internal static IReadOnlyList<string> Offered(SandboxOptions options) =>
        options.EnableTestEngine ? WithTestEngine : Production;

    /// <summary>Whether the engine counts fuel (<c>limits.fuel</c>, <c>usage.fuel</c>): only QuickJS, whose Wasmtime store meters instructions.</summary>
    internal static bool CountsFuel(string engine) => engine == EngineNames.QuickJs;

    /// <summary>
    /// Why <paramref name="engine"/> cannot run executions with <paramref name="unit"/>, worded to follow
    /// "isolationUnit " or "IsolationUnit ", or null when it can. QuickJS has no warm mode: it makes a fresh VM
    /// (about a millisecond) for every execution, so <see cref="IsolationUnit.Context"/> is refused rather
    /// than quietly given a fresh VM the caller did not ask for.
    /// </summary>
    internal static string? UnitProblem(string engine, IsolationUnit unit) =>
        unit == IsolationUnit.Context && engine == EngineNames.QuickJs
            ? $"Context is not available on engine {EngineNames.QuickJs} (it runs a fresh VM per execution)"
            : null;

    /// <summary>
    /// Whether an execution that this engine's own memory cap ended (<c>memory_limit</c>, limit <c>heap</c>) leaves
    /// nothing behind in its worker: <c>quickjs</c>'s cap is its store's limit on linear memory, and the store, its
    /// memory and its VM are dropped with the execution. V8's heap limit ends in an isolate whose teardown and
    /// off-heap remains are not as certain, so its worker is retired.
    /// </summary>
    internal static bool LeavesWorkerCleanAtItsMemoryCap(string engine) => engine == EngineNames.QuickJs;
}
