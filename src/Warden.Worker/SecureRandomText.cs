using System.Security.Cryptography;
using System.Text;

namespace Warden.Worker;

/// <summary>Bytes from the OS CSPRNG for a script's <c>crypto.getRandomValues</c>, as text an engine can pass as a primitive.</summary>
internal static class SecureRandomText
{
    /// <summary>Most bytes one <c>crypto.getRandomValues</c> call may ask for (WebCrypto's quota).</summary>
    public const int MaxBytes = 65536;

    /// <summary>
    /// <paramref name="count"/> bytes from .NET's <see cref="RandomNumberGenerator"/> (warmed up before the
    /// lockdown), as a string of chars 0..255: a primitive, so no buffer of the host's is ever shared with
    /// the script. An out-of-range count gets an empty string (the script side checks the length and
    /// throws), never an exception carrying host details.
    /// </summary>
    public static string Bytes(double count)
    {
        if (!(count >= 0 && count <= MaxBytes) || count != Math.Floor(count))
        {
            return "";
        }
        int n = (int)count;
        Span<byte> bytes = stackalloc byte[n];
        RandomNumberGenerator.Fill(bytes);
        return Encoding.Latin1.GetString(bytes);
    }
}
