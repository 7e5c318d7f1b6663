using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;
using Warden.Protocol;

namespace Warden.Worker.Engine;

/// <summary>
/// Serves ES modules from memory only: the submission's entry module (imported by Warden's fixed
/// wrapper module, which ExecutionRunner evaluates directly) and the submission's named modules,
/// resolved by <see cref="ModuleNames.Resolve"/>.
/// SECURITY: this replaces ClearScript's default loader, so no import can reach the file system or
/// the network (the default loader with file access loaded /etc/hostname in a test, design.md).
/// Each name maps to one Document object for the whole execution, so a module imported twice is one
/// module instance (evaluated once), as in a browser.
/// </summary>
internal sealed class InMemoryModuleLoader : DocumentLoader
{
    public const string EntrySpecifier = ModuleNames.Entry;
    public const string WrapperSpecifier = ModuleNames.Wrapper;

    /// <summary>
    /// Fixed text, never containing user source: once the submission has evaluated, hand its
    /// namespace to the prelude's hook (see moduleEvaluated in Prelude.js).
    /// </summary>
    public const string WrapperSource =
        "import * as ns from \"" + EntrySpecifier + "\";\nglobalThis[Symbol.for(\"warden.module\")](ns);\n";

    private readonly Dictionary<string, Document> _documents = new(StringComparer.Ordinal);

    public void SetEntry(string code, IReadOnlyDictionary<string, string>? modules = null)
    {
        _documents.Clear();
        _documents[EntrySpecifier] = Module(EntrySpecifier, code);
        if (modules is not null)
        {
            foreach (var (name, source) in modules)
            {
                string normalised = ModuleNames.Normalise(name);
                _documents[normalised] = Module(normalised, source);
            }
        }
    }

    private static StringDocument Module(string name, string source) =>
        new(new DocumentInfo(name) { Category = ModuleCategory.Standard }, source);

    public override Task<Document> LoadDocumentAsync(DocumentSettings settings, DocumentInfo? sourceInfo,
        string specifier, DocumentCategory category, DocumentContextCallback contextCallback)
    {
        // The wrapper imports the entry by its bare name; everything else resolves against its importer.
        string importer = sourceInfo?.Name is { } name && name != WrapperSpecifier ? name : EntrySpecifier;
        string resolved = ModuleNames.Resolve(importer, specifier);
        if (category == ModuleCategory.Standard && _documents.TryGetValue(resolved, out var document))
        {
            return Task.FromResult(document);
        }
        return Task.FromException<Document>(new FileNotFoundException(
            $"Cannot find module '{Truncate(specifier)}': only the submitted modules can be imported"));
    }

    private static string Truncate(string specifier) => specifier.Length <= 200 ? specifier : specifier[..200] + "...";
}
