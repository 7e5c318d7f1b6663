namespace Warden.Protocol;

/// <summary>The engines' contract names, as submissions, the wire and outcomes spell them.</summary>
internal static class EngineNames
{
    /// <summary>V8 through ClearScript: the default engine.</summary>
    public const string V8 = "v8";

    /// <summary>
    /// QuickJS-NG compiled to WebAssembly (wasm32-wasi), run by Wasmtime: a fresh VM per execution, an exact
    /// memory cap (the store's limit on linear memory) and deterministic fuel (<c>limits.fuel</c>, <c>usage.fuel</c>).
    /// </summary>
    public const string QuickJs = "quickjs";

    /// <summary>
    /// A fake engine that interprets line commands (log, result, input, throw, spin, allocate) instead of
    /// JavaScript: it proves the engine seam through library, CLI and HTTP. Offered only when the host's
    /// tests enable it.
    /// </summary>
    public const string Test = "test";
}
