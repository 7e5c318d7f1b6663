using System.Text.RegularExpressions;

namespace Warden.Server;

/// <summary>
/// One API key (configuration <c>Warden:Server:ApiKeys:N</c>). The key itself is never stored: only the
/// hex SHA-256 of the bearer token (tokens are 256-bit random values from <c>warden keygen</c>, so a
/// fast hash is enough; it keeps configuration files and their backups from holding usable secrets).
/// The key's name is its tenant: its isolation key, its quota partition, its log name.
/// </summary>
public sealed partial class ApiKeyOptions
{
    /// <summary>The tenant's name: 1–64 of A–Z, a–z, 0–9, '-', '_'.</summary>
    public string Name { get; set; } = "";

    /// <summary>Hex SHA-256 of the bearer token (64 hex digits).</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>Executions this key may have running or queued at once; more get 429. Default 4.</summary>
    public int MaxConcurrentExecutions { get; set; } = 4;

    /// <summary>Executions this key may start per minute (token bucket); more get 429. Default 600.</summary>
    public int MaxExecutionsPerMinute { get; set; } = 600;

    /// <summary>This key's ceiling on <c>limits.timeoutMs</c> (and <c>cpuMs</c>); null: the sandbox's maximum.</summary>
    public int? MaxTimeoutMs { get; set; }

    /// <summary>This key's ceiling on <c>limits.memoryMb</c>; null: the sandbox's maximum.</summary>
    public int? MaxMemoryMb { get; set; }

    /// <summary>
    /// This key's ceiling on <c>limits.fuel</c> (quickjs); null: the sandbox's maximum. With a ceiling, this key's
    /// quickjs executions that name no fuel get at most this much (never an unlimited budget).
    /// </summary>
    public long? MaxFuel { get; set; }

    /// <summary>
    /// This key's isolation unit: a fresh isolate per execution, or a fresh context in a warm isolate kept
    /// for this key's executions (<see cref="Warden.IsolationUnit"/>); null: the sandbox's
    /// (<c>Warden:Sandbox:IsolationUnit</c>). Warm isolates are never shared between keys.
    /// </summary>
    public IsolationUnit? IsolationUnit { get; set; }

    /// <summary>
    /// The origins (of <see cref="ServerOptions.FetchOrigins"/>) this key's scripts may fetch; null or empty: none. A
    /// request gets all of them unless it names fewer (<c>fetchOrigins</c>); it can never name more.
    /// </summary>
    public List<string>? FetchOrigins { get; set; }

    /// <summary>
    /// The webhooks (<see cref="ServerOptions.Webhooks"/>, by name) this key's scripts may call; null or empty: none.
    /// A request gets all of them unless it names fewer (<c>hostFunctions</c>); it can never name more.
    /// </summary>
    public List<string>? HostFunctions { get; set; }

    /// <summary>This key's ceilings as the library applies them; null when the key has none.</summary>
    internal ExecutionCeilings? Ceilings => MaxTimeoutMs is null && MaxMemoryMb is null && MaxFuel is null ? null
        : new ExecutionCeilings { MaxTimeoutMs = MaxTimeoutMs, MaxMemoryMb = MaxMemoryMb, MaxFuel = MaxFuel, Owner = "this API key" };

    internal IEnumerable<string> Validate(int index)
    {
        string at = $"ApiKeys[{index}]";
        if (!NamePattern().IsMatch(Name ?? ""))
        {
            yield return $"{at}.Name ('{Name}') must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'.";
        }
        if (!HashPattern().IsMatch(Sha256 ?? ""))
        {
            yield return $"{at}.Sha256 must be the 64 hex digits of the token's SHA-256 (see `warden keygen`).";
        }
        if (MaxConcurrentExecutions is < 1 or > 10_000)
        {
            yield return $"{at}.MaxConcurrentExecutions ({MaxConcurrentExecutions}) must be between 1 and 10000.";
        }
        if (MaxExecutionsPerMinute is < 1 or > 1_000_000)
        {
            yield return $"{at}.MaxExecutionsPerMinute ({MaxExecutionsPerMinute}) must be between 1 and 1000000.";
        }
        if (MaxTimeoutMs is < 1)
        {
            yield return $"{at}.MaxTimeoutMs must be positive.";
        }
        if (IsolationUnit is { } unit && !Enum.IsDefined(unit))
        {
            yield return $"{at}.IsolationUnit ({(int)unit}) must be Isolate or Context.";
        }
        if (MaxMemoryMb is < SandboxLimits.MinMemoryMb)
        {
            yield return $"{at}.MaxMemoryMb must be at least {SandboxLimits.MinMemoryMb}.";
        }
        if (MaxFuel is < 1)
        {
            yield return $"{at}.MaxFuel must be positive.";
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex HashPattern();
}
