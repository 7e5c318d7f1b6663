using Warden.Protocol;
using Warden.Worker.Engines.QuickJs;
using Warden.Worker.Engines.Test;
using Warden.Worker.Engines.V8;

namespace Warden.Worker.Engines;

/// <summary>
/// The engines this worker can run, by contract name (<see cref="EngineNames"/>). A worker runs the one
/// engine its <c>configure</c> names; which engines a submission may pick is the host's decision (the
/// test engine is offered only when the host's tests enable it).
/// </summary>
internal static class EngineRegistry
{
    private static readonly Dictionary<string, Func<EngineFeatures, IEngine>> Engines = new(StringComparer.Ordinal)
    {
        [EngineNames.V8] = features => new V8Engine(features),
        [EngineNames.QuickJs] = _ => new QuickJsEngine(),
        [EngineNames.Test] = _ => new TestEngine(),
    };

    /// <summary>The contract names of every engine this worker has.</summary>
    public static IEnumerable<string> Names => Engines.Keys;

    /// <summary>The engine named <paramref name="name"/>, or null when this worker has none by that name.</summary>
    public static IEngine? Create(string name, EngineFeatures features) =>
        Engines.TryGetValue(name, out var create) ? create(features) : null;
}
