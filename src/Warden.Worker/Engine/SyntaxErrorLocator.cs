using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;
using Warden.Protocol;

namespace Warden.Worker.Engine;

/// <summary>
/// A SyntaxError caught around eval or import carries no position. Compiling the same source
/// (which runs no user code) tells a parse error, with its line and column, from a SyntaxError the
/// script threw at run time (JSON.parse, new RegExp, ...), which is left as it was.
/// </summary>
internal static class SyntaxErrorLocator
{
    public static ReportedFailure Locate(Microsoft.ClearScript.V8.V8ScriptEngine engine, ExecuteMessage request, ReportedFailure failure)
    {
        string name = request.Module ? InMemoryModuleLoader.EntrySpecifier : ExecutionRunner.ClassicScriptName;
        var info = new DocumentInfo(name);
        if (request.Module)
        {
            info.Category = ModuleCategory.Standard;
        }
        try
        {
            using var compiled = engine.Compile(info, request.Code);
            return failure;   // it compiles: the SyntaxError came from running code
        }
        catch (ScriptEngineException e)
        {
            // ClearScript's text for a parse error: "SyntaxError: msg" and, in the details,
            // "    at name:line:column -> source line". Both come from V8's parser, not from user objects.
            string message = ClearScriptErrorText.NameAndMessage(e.Message) is ("SyntaxError", var text) ? text : e.Message;
            string stack = ClearScriptErrorText.UserFrames(e.ErrorDetails).FirstOrDefault() ?? "";
            return failure with { Status = WireStatus.ScriptError, Message = message, Stack = stack };
        }
    }
}
