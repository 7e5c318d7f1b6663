namespace Warden.Protocol;

/// <summary>The engines' contract names, as submissions, the wire and outcomes spell them.</summary>
internal static class EngineNames
{
    /// <summary>V8 through ClearScript: the default engine.</summary>
    public const string V8 = "v8";
}
