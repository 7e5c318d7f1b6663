using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Warden.Server;

/// <summary>
/// Finds the API key a request presents (<c>Authorization: Bearer TOKEN</c>). SECURITY: the token is
/// hashed and compared with every configured hash in constant time, so neither the comparison nor
/// the position of the matching key leaks through timing; the token itself is never logged or kept.
/// </summary>
internal sealed class ApiKeyAuthenticator(ServerOptions options)
{
    private readonly (ApiKeyOptions Key, byte[] Hash)[] _keys =
        options.ApiKeys.Select(k => (k, Convert.FromHexString(k.Sha256))).ToArray();

    /// <summary>True when keys are configured: every run must then present one.</summary>
    public bool Enabled => _keys.Length > 0;

    public ApiKeyOptions? Authenticate(HttpContext context)
    {
        string header = context.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header.Length > 1024)
        {
            return null;
        }
        byte[] presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()));
        ApiKeyOptions? match = null;
        foreach (var (key, hash) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, hash))
            {
                match = key;
            }
        }
        return match;
    }

    /// <summary>A new random token and the hash to configure for it.</summary>
    public static (string Token, string Sha256) NewKey()
    {
        string token = "wdn_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (token, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token))));
    }
}
