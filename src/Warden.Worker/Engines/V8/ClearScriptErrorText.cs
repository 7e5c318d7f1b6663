using System.Text.RegularExpressions;

namespace Warden.Worker.Engines.V8;

/// <summary>
/// Reads the text ClearScript gives an exception: "Name: message" in <c>Message</c>, and frames as
/// "    at where -> source line" in <c>ErrorDetails</c>. Used only to locate parse errors, whose text
/// comes from V8's parser, never from a script object.
/// </summary>
internal static partial class ClearScriptErrorText
{
    // "RangeError: message" for errors; anything else was a thrown non-error value.
    [GeneratedRegex(@"^(?<name>[A-Za-z_$][\w$]*): (?<message>.*)$", RegexOptions.Singleline)]
    private static partial Regex NameAndMessagePattern();

    [GeneratedRegex(@"^\s*at (?<frame>.+?)(?: -> .*)?$", RegexOptions.Multiline)]
    private static partial Regex FramePattern();

    // ClearScript marks documents it made up (" [temp]") and repeated names (" [2]").
    [GeneratedRegex(@" \[(?:temp|\d+)\]")]
    private static partial Regex DocumentSuffix();

    /// <summary>The error's name and message, or null when the text is not of the form "Name: message".</summary>
    public static (string Name, string Message)? NameAndMessage(string text)
    {
        var parts = NameAndMessagePattern().Match(text);
        return parts.Success ? (parts.Groups["name"].Value, parts.Groups["message"].Value) : null;
    }

    /// <summary>User frames as "    at where", without ClearScript's document marks, Warden's own frames or engine internals.</summary>
    public static IEnumerable<string> UserFrames(string? details) =>
        FramePattern().Matches(details ?? "")
            .Select(m => DocumentSuffix().Replace(m.Groups["frame"].Value, ""))
            .Where(f => !f.Contains("warden:", StringComparison.Ordinal) && !f.Contains("[internal]", StringComparison.Ordinal))
            .Select(f => "    at " + f);
}
