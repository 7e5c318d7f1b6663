using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;

namespace Warden.Worker.Engine;

/// <summary>
/// Serves ES modules from memory only: the submission's entry module, imported by Warden's fixed
/// wrapper module (which ExecutionRunner evaluates directly).
/// SECURITY: this replaces ClearScript's default loader, so no import can reach the file system or
/// the network (the default loader with file access loaded /etc/hostname in a test, design.md).
/// </summary>
internal sealed class InMemoryModuleLoader : DocumentLoader
{
    public const string EntrySpecifier = "module.mjs";
    public const string WrapperSpecifier = "warden:entry";

    /// <summary>
    /// Fixed text, never containing user source: once the submission has evaluated, hand its
    /// namespace to the prelude's hook (see moduleEvaluated in Prelude.js).
    /// </summary>
    public const string WrapperSource =
        "import * as ns from \"" + EntrySpecifier + "\";\nglobalThis[Symbol.for(\"warden.module\")](ns);\n";

    private readonly Dictionary<string, Document> _documents = new(StringComparer.Ordinal);

    public void SetEntry(string code)
    {
        _documents.Clear();
        _documents[EntrySpecifier] = new StringDocument(
            new DocumentInfo(EntrySpecifier) { Category = ModuleCategory.Standard }, code);
    }

    public override Task<Document> LoadDocumentAsync(DocumentSettings settings, DocumentInfo? sourceInfo,
        string specifier, DocumentCategory category, DocumentContextCallback contextCallback)
    {
        if (category == ModuleCategory.Standard && _documents.TryGetValue(specifier, out var document))
        {
            return Task.FromResult(document);
        }
        return Task.FromException<Document>(new FileNotFoundException(
            $"Cannot find module '{Truncate(specifier)}': only the submitted module can be imported"));
    }

    private static string Truncate(string specifier) => specifier.Length <= 200 ? specifier : specifier[..200] + "...";
}
