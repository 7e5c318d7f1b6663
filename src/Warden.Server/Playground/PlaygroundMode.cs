namespace Warden.Server;

/// <summary>Whether <c>warden serve</c> serves the playground page at <c>GET /</c> (<see cref="ServerOptions.Playground"/>).</summary>
public enum PlaygroundMode
{
    /// <summary>Served when every address the server listens on is loopback; otherwise not (the default).</summary>
    Auto,

    /// <summary>Always served (the page still needs an API key to run anything when keys are configured).</summary>
    On,

    /// <summary>Never served: <c>GET /</c> is 404.</summary>
    Off,
}
