namespace Warden.Server;

/// <summary>
/// The engines the page offers. The library keeps its list internal (EngineCatalog), so this is a copy, held to it by
/// a test (PlaygroundTests.TheEnginesOfferedAreTheLibrarys): a new engine there fails that test until it is added here.
/// </summary>
internal static class PlaygroundEngines
{
    public static readonly IReadOnlyList<(string Name, bool CountsFuel)> Offered = [("v8", false), ("quickjs", true)];
}
