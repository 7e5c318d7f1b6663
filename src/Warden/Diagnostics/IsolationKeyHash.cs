using System.Security.Cryptography;
using System.Text;

namespace Warden.Diagnostics;

/// <summary>
/// What telemetry says of an isolation key: the first 8 bytes of its SHA-256, in hex (16 characters).
/// SECURITY: isolation keys often name tenants or users, and traces leave the host (an OTLP collector, a vendor).
/// The hash lets an operator group an execution's spans by key, and check one key they already know, without
/// the trace naming it. Truncated because nothing needs more to tell keys apart in a trace, and a shorter value
/// says less; unsalted so that the same key hashes alike across processes and restarts — which also means a
/// guessable key can be confirmed by hashing a guess (docs/threat-model.md).
/// </summary>
internal static class IsolationKeyHash
{
    public static string Of(string key)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), digest);
        return Convert.ToHexStringLower(digest[..8]);
    }
}
