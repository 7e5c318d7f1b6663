namespace Warden;

/// <summary>
/// Tighter maximums for one submission than the sandbox's own, set by the application on behalf of whoever
/// it runs the submission for (an API key, a plan, a user) — the way Kestrel lets a request lower the
/// server's limits. A submission asking for more is <c>invalid_request</c>; limits it leaves out take the
/// sandbox's defaults lowered to these ceilings. A ceiling above the sandbox's maximum changes nothing.
/// </summary>
/// <remarks>Never built from the untrusted request itself: a caller that could choose its ceilings would have none.</remarks>
public sealed record ExecutionCeilings
{
    private readonly int? _maxTimeoutMs;
    private readonly int? _maxMemoryMb;
    private readonly long? _maxFuel;
    private readonly string _owner = "the caller";

    /// <summary>Ceiling on <c>limits.timeoutMs</c> and on <c>limits.cpuMs</c>; null: the sandbox's maximum.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public int? MaxTimeoutMs
    {
        get => _maxTimeoutMs;
        init => _maxTimeoutMs = value is < 1 ? throw new ArgumentOutOfRangeException(nameof(MaxTimeoutMs), value, "must be positive") : value;
    }

    /// <summary>Ceiling on <c>limits.memoryMb</c>; null: the sandbox's maximum.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Below <see cref="SandboxLimits.MinMemoryMb"/>.</exception>
    public int? MaxMemoryMb
    {
        get => _maxMemoryMb;
        init => _maxMemoryMb = value is < SandboxLimits.MinMemoryMb
            ? throw new ArgumentOutOfRangeException(nameof(MaxMemoryMb), value, $"must be at least {SandboxLimits.MinMemoryMb}")
            : value;
    }

    /// <summary>
    /// Ceiling on <c>limits.fuel</c>, for engines that count fuel (quickjs); null: the sandbox's maximum. A quickjs
    /// submission that names no fuel gets the sandbox's default lowered to it, so with a ceiling there is always a
    /// fuel limit (an unlimited default is lowered to the ceiling itself). Engines that count no fuel ignore it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public long? MaxFuel
    {
        get => _maxFuel;
        init => _maxFuel = value is < 1 ? throw new ArgumentOutOfRangeException(nameof(MaxFuel), value, "must be positive") : value;
    }

    /// <summary>
    /// Whose ceilings these are, as a refusal names them: <c>"this API key"</c> gives
    /// "limits.timeoutMs is above this API key's ceiling (2000)." Default "the caller".
    /// </summary>
    public string Owner
    {
        get => _owner;
        init => _owner = string.IsNullOrWhiteSpace(value) ? throw new ArgumentException("Owner must name whose ceilings these are.", nameof(Owner)) : value;
    }
}
