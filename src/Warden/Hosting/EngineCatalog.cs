using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>The engines a sandbox offers: the one list that submission validation and the pool agree on.</summary>
internal static class EngineCatalog
{
    private static readonly string[] Production = [EngineNames.V8, EngineNames.QuickJs];
    private static readonly string[] WithTestEngine = [EngineNames.V8, EngineNames.QuickJs, EngineNames.Test];

    /// <summary><c>v8</c>; and <c>test</c> when the tests enabled it (<see cref="SandboxOptions.EnableTestEngine"/>).</summary>
    internal static IReadOnlyList<string> Offered(SandboxOptions options) =>
        options.EnableTestEngine ? WithTestEngine : Production;
}
