using System.Text;

namespace Warden.Protocol;

/// <summary>Bounding text by its UTF-8 size, the unit of every size limit.</summary>
internal static class Utf8Text
{
    private const string Ellipsis = "\u2026";

    /// <summary>The text itself if it fits, else its longest prefix that fits with an ellipsis, never splitting a surrogate pair.</summary>
    public static string Truncate(string text, int maxBytes)
    {
        if (text.Length <= maxBytes / 3 || Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }
        int budget = Math.Max(0, maxBytes - Encoding.UTF8.GetByteCount(Ellipsis));
        int chars = Math.Min(text.Length, budget);
        while (chars > 0 && Encoding.UTF8.GetByteCount(text.AsSpan(0, chars)) > budget)
        {
            // Shrink by the overshoot: each char is at most 3 bytes (a pair is 4 for 2 chars).
            int over = Encoding.UTF8.GetByteCount(text.AsSpan(0, chars)) - budget;
            chars -= Math.Max(1, over / 3);
        }
        chars = Math.Max(0, chars);
        if (chars > 0 && char.IsHighSurrogate(text[chars - 1]))
        {
            chars--;
        }
        return text[..chars] + Ellipsis;
    }
}
