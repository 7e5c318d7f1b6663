using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;
using Warden.Protocol;

namespace Warden.Worker.Engines.V8;

/// <summary>
/// A SyntaxError caught around eval or import carries no position. Compiling the same sources
/// (which runs no user code) tells a parse error, with its line and column, from a SyntaxError the
/// script threw at run time (JSON.parse, new RegExp, ...) or a link error, which are left as they were.
/// In module mode the entry is compiled first, then the named modules in the order submitted.
/// </summary>
internal static class SyntaxErrorLocator
{
    public static ReportedFailure Locate(Microsoft.ClearScript.V8.V8ScriptEngine engine, ExecuteMessage request, ReportedFailure failure)
    {
        if (!request.Module)
        {
            return Compile(engine, new DocumentInfo(V8Instance.ClassicScriptName), request.Code, failure) ?? failure;
        }
        var sources = new List<(string Name, string Source)> { (InMemoryModuleLoader.EntrySpecifier, request.Code) };
        sources.AddRange((request.Modules ?? new Dictionary<string, string>()).Select(m => (ModuleNames.Normalise(m.Key), m.Value)));
        foreach (var (name, source) in sources)
        {
            // Only the module whose parse error this is (another may fail to parse without ever being imported).
            if (Compile(engine, new DocumentInfo(name) { Category = ModuleCategory.Standard }, source, failure) is { } located
                && located.Message == failure.Message)
            {
                return located;
            }
        }
        return failure;   // everything compiles: the SyntaxError came from running or linking code
    }

    /// <summary>The failure with the parser's message and position, or null when the source compiles.</summary>
    private static ReportedFailure? Compile(Microsoft.ClearScript.V8.V8ScriptEngine engine, DocumentInfo info, string source, ReportedFailure failure)
    {
        try
        {
            using var compiled = engine.Compile(info, source);
            return null;
        }
        catch (ScriptEngineException e)
        {
            // ClearScript's text for a parse error: "SyntaxError: msg" and, in the details,
            // "    at name:line:column -> source line". Both come from V8's parser (the message is
            // bounded by the source's size); only a frame that names this document is taken.
            string message = ClearScriptErrorText.NameAndMessage(e.Message) is ("SyntaxError", var text) ? text : e.Message;
            string stack = ClearScriptErrorText.UserFrames(e.ErrorDetails)
                .FirstOrDefault(f => f.StartsWith("    at " + info.Name + ":", StringComparison.Ordinal)) ?? "";
            return failure with { Status = WireStatus.ScriptError, Message = message, Stack = stack };
        }
    }
}
