namespace Warden.Hosting.Fetch;

/// <summary>One granted origin and the operator's secret headers for it (added by the host, never seen by the script).</summary>
internal sealed record FetchOriginGrant(string Origin, IReadOnlyList<KeyValuePair<string, string>> SecretHeaders);

/// <summary>
/// What one execution may fetch: its granted origins, keyed by canonical origin (<see cref="FetchOrigin.TryParseGrant"/>),
/// and its byte limits.
/// </summary>
/// <param name="Grants">Canonical origin → its grant, compared ordinally.</param>
/// <param name="MaxResponseBytes">The decoded response body cap (maxFetchResponseBytes).</param>
/// <param name="MaxRequestBodyBytes">The request body cap (maxFetchRequestBodyBytes).</param>
/// <param name="Budget">The sandbox's bound on response bytes held at once; null: none (tests of the client alone).</param>
internal sealed record FetchScope(IReadOnlyDictionary<string, FetchOriginGrant> Grants, long MaxResponseBytes, long MaxRequestBodyBytes,
    FetchBodyBudget? Budget = null)
{
    /// <summary>A scope from grants (their origins already canonical).</summary>
    public static FetchScope Of(IEnumerable<FetchOriginGrant> grants, long maxResponseBytes, long maxRequestBodyBytes, FetchBodyBudget? budget = null) =>
        new(grants.ToDictionary(g => g.Origin, StringComparer.Ordinal), maxResponseBytes, maxRequestBodyBytes, budget);
}
