using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;
using Warden.Protocol;

namespace Warden.Worker.Engines.V8;

/// <summary>
/// Serves ES modules from memory only: the submission's entry module (imported by the prelude and by
/// Warden's fixed wrapper module, which V8Instance evaluates directly) and the submission's named
/// modules, resolved by <see cref="ModuleNames.Resolve"/>.
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
    /// Fixed text, never containing user source. It imports the entry, which the prelude's import()
    /// has already linked and evaluated, and its top-level await makes the graph asynchronous: for such
    /// a graph ClearScript returns the evaluation as a promise, which the prelude awaits, instead of
    /// throwing the module's error into .NET (see startModule in Engines/V8/modules-v8.js).
    /// </summary>
    public const string WrapperSource = "import \"" + EntrySpecifier + "\";\nawait undefined;\n";

    private readonly Dictionary<string, Document> _documents = new(StringComparer.Ordinal);

    /// <summary>The execution's <c>warden:host</c> (generated from its grant), or null: it then does not exist.
    /// Not among <see cref="DocumentNames"/>: its frames are Warden's, never shown.</summary>
    private Document? _hostModule;

    /// <summary>Sets (or, with null, removes) the execution's <c>warden:host</c>: one Document, so one module instance.</summary>
    public void SetHostModule(string? source) =>
        _hostModule = source is null ? null : Module(HostCallWords.ModuleName, source);

    /// <summary>
    /// The names of this execution's documents, entry first: the only locations a stack frame may
    /// name. V8's frames show a module by the last segment of its name ("lib/a.js" as "a.js"), so
    /// that is listed too.
    /// </summary>
    public IReadOnlyList<string> DocumentNames =>
        [.. _documents.Keys.SelectMany(name => name.LastIndexOf('/') is var slash and >= 0 ? [name, name[(slash + 1)..]] : new[] { name }).Distinct()];

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
        new(new DocumentInfo(name) { Category = ModuleCategory.Standard, ContextCallback = ImportMetaOf }, source);

    /// <summary>
    /// SECURITY: ClearScript defines <c>import.meta.setResult</c> on every module (its way for a module
    /// to hand a value to .NET) before it applies the document's context callback. Its native side
    /// copies the argument into .NET outside every limit (measured: a 2^27-character string cost the
    /// worker). Warden never uses it (module results go through the prelude), so the callback
    /// overwrites it with <c>undefined</c>: the property stays (ClearScript defines it, non-enumerable)
    /// but is nothing a script can call.
    /// </summary>
    private static IDictionary<string, object> ImportMetaOf(DocumentInfo info) => ImportMetaProperties;

    private static readonly IDictionary<string, object> ImportMetaProperties =
        new Dictionary<string, object>(StringComparer.Ordinal) { ["setResult"] = Undefined.Value };

    /// <summary>
    /// ClearScript's synchronous entry (every V8 module load goes through it). Overridden so that every
    /// refusal — an empty specifier included, which the base class refuses with .NET's ArgumentException
    /// text — reaches the script as one fixed, bounded message of ours.
    /// </summary>
    public override Document LoadDocument(DocumentSettings settings, DocumentInfo? sourceInfo, string specifier,
        DocumentCategory category, DocumentContextCallback contextCallback) =>
        Find(sourceInfo, specifier, category) ?? throw NotFound(specifier);

    public override Task<Document> LoadDocumentAsync(DocumentSettings settings, DocumentInfo? sourceInfo,
        string specifier, DocumentCategory category, DocumentContextCallback contextCallback) =>
        Find(sourceInfo, specifier, category) is { } document ? Task.FromResult(document) : Task.FromException<Document>(NotFound(specifier));

    private Document? Find(DocumentInfo? sourceInfo, string? specifier, DocumentCategory category)
    {
        if (string.IsNullOrEmpty(specifier) || category != ModuleCategory.Standard)
        {
            return null;
        }
        // The prelude and the wrapper import the entry by its bare name; a classic script's import()
        // has no module as its importer. Everything else resolves against the importing module.
        string importer = sourceInfo?.Name is { } name && _documents.ContainsKey(name) ? name : EntrySpecifier;
        string resolved = ModuleNames.Resolve(importer, specifier);
        return resolved == HostCallWords.ModuleName ? _hostModule : _documents.GetValueOrDefault(resolved);
    }

    private static FileNotFoundException NotFound(string? specifier) => new(ModuleNames.NotFoundMessage(specifier ?? ""));
}
