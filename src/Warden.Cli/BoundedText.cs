using System.Text;

namespace Warden.Cli;

/// <summary>
/// How `warden run` reads the text it hands to a sandbox (the script, the input file, --modules files): never more
/// than the limit allows, and only as UTF-8 text.
/// </summary>
internal static class BoundedText
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Reads at most <paramref name="maxBytes"/> + 1 bytes: one more than allowed tells the caller it is too large.
    /// Bounded also for what reports no length: a device or /proc file reports 0 (an attack review fed /dev/zero and
    /// an unbounded read ran the CLI out of memory).
    /// </summary>
    public static byte[] Read(Stream stream, long maxBytes)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while (buffer.Length <= maxBytes && (n = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, maxBytes + 1 - buffer.Length))) > 0)
        {
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    /// <summary>The bytes as text (a leading BOM dropped), or why they are not text, naming <paramref name="subject"/>.</summary>
    public static (string? Text, string? Error) Decode(byte[] bytes, string subject)
    {
        if (Array.IndexOf(bytes, (byte)0) >= 0)
        {
            return (null, $"{subject} contains NUL bytes: it is not text");
        }
        try
        {
            string text = StrictUtf8.GetString(bytes);
            return (text.StartsWith('\uFEFF') ? text[1..] : text, null);
        }
        catch (DecoderFallbackException)
        {
            return (null, $"{subject} is not valid UTF-8 text");
        }
    }
}
