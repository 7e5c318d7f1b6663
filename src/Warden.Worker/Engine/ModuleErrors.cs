using System.Text.RegularExpressions;
using Microsoft.ClearScript;
using Warden.Protocol;

namespace Warden.Worker.Engine;

/// <summary>
/// Turns the exception ClearScript raises when a module graph fails synchronously into the failure
/// the prelude would have reported. The text was made inside the isolate (under the watchdog) and is
/// bounded by the runner before it leaves the worker.
/// </summary>
internal static partial class ModuleErrors
{
    // "RangeError: message" for errors; anything else was a thrown non-error value.
    [GeneratedRegex(@"^(?<name>[A-Za-z_$][\w$]*): (?<message>.*)$", RegexOptions.Singleline)]
    private static partial Regex NameAndMessage();

    [GeneratedRegex(@"^\s*at (?<frame>.+?)(?: -> .*)?$", RegexOptions.Multiline)]
    private static partial Regex Frame();

    [GeneratedRegex(@" \[(?:temp|\d+)\]")]
    private static partial Regex DocumentSuffix();

    public static ReportedFailure FromEngineException(ScriptEngineException e)
    {
        string text = e.Message;
        var parts = NameAndMessage().Match(text);
        string name = parts.Success ? parts.Groups["name"].Value : "Error";
        string message = parts.Success ? parts.Groups["message"].Value : "Uncaught " + text;
        var frames = Frame().Matches(e.ErrorDetails ?? "")
            .Select(m => DocumentSuffix().Replace(m.Groups["frame"].Value, ""))
            .Where(f => !f.Contains("warden:", StringComparison.Ordinal) && !f.Contains("[internal]", StringComparison.Ordinal))
            .Select(f => "    at " + f);
        // "module": a SyntaxError from this phase is located by compiling the submission.
        return new ReportedFailure(WireStatus.ScriptError, null, name, message, string.Join("\n", frames), "module");
    }
}
