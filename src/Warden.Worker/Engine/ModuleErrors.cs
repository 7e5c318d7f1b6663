using Microsoft.ClearScript;
using Warden.Protocol;

namespace Warden.Worker.Engine;

/// <summary>
/// Turns the exception ClearScript raises when a module graph fails synchronously into the failure
/// the prelude would have reported. The text was made inside the isolate (under the watchdog) and is
/// bounded by the runner before it leaves the worker.
/// </summary>
internal static class ModuleErrors
{
    public static ReportedFailure FromEngineException(ScriptEngineException e)
    {
        var (name, message) = ClearScriptErrorText.NameAndMessage(e.Message) ?? ("Error", "Uncaught " + e.Message);
        string stack = string.Join("\n", ClearScriptErrorText.UserFrames(e.ErrorDetails));
        // "module": a SyntaxError from this phase is located by compiling the submission.
        return new ReportedFailure(WireStatus.ScriptError, null, name, message, stack, "module");
    }
}
