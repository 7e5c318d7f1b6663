namespace Warden.Hosting;

/// <summary>
/// Which isolation keys may be granted a registered capability (a host function, a fetch origin): null keys mean
/// every submission's, keyless ones included; otherwise only submissions with one of these keys.
/// </summary>
internal static class AllowedIsolationKeys
{
    /// <summary>The set of <paramref name="keys"/> (null: everyone).</summary>
    /// <exception cref="ArgumentException">A key is null or empty.</exception>
    public static HashSet<string>? From(IEnumerable<string>? keys, string parameterName)
    {
        if (keys is null)
        {
            return null;
        }
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (string.IsNullOrEmpty(key))
            {
                throw new ArgumentException("An allowed isolation key must not be empty.", parameterName);
            }
            set.Add(key);
        }
        return set;
    }

    /// <summary>Whether a submission with <paramref name="isolationKey"/> (null: keyless) may be granted it.</summary>
    public static bool Allow(HashSet<string>? allowed, string? isolationKey) =>
        allowed is null || (isolationKey is not null && allowed.Contains(isolationKey));
}
