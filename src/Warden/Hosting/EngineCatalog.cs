using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>The engines a sandbox offers: what submissions may name and what its default may be.</summary>
internal static class EngineCatalog
{
    internal static IReadOnlyList<string> Offered(SandboxOptions options) =>
        options.EnableTestEngine ? [EngineNames.V8, EngineNames.Test] : [EngineNames.V8];
}
