namespace Warden.Server;

/// <summary>
/// Whether the playground is served, from <see cref="ServerOptions.Playground"/>. <see cref="PlaygroundMode.Auto"/> is
/// decided from the addresses the server really listens on (Kestrel's own endpoint settings can override
/// <see cref="ServerOptions.Urls"/>), known once it has started: so on the first request, then kept.
/// </summary>
internal sealed class PlaygroundSwitch(PlaygroundMode mode, Func<IReadOnlyList<string>> listeningAddresses)
{
    private bool? _auto;

    public bool Enabled => mode switch
    {
        PlaygroundMode.On => true,
        PlaygroundMode.Off => false,
        _ => _auto ??= EveryAddressIsLoopback(listeningAddresses()),
    };

    /// <summary>True when there is at least one address and each is loopback (a wildcard such as 0.0.0.0 is not).</summary>
    internal static bool EveryAddressIsLoopback(IReadOnlyList<string> addresses) =>
        addresses.Count > 0 && addresses.All(ServerOptions.IsLoopbackUrl);
}
