namespace Warden.Protocol;

/// <summary>
/// How the modules of one submission are named and found. Shared by the host (which validates names)
/// and the worker (whose in-memory loader resolves imports with <see cref="Resolve"/>): the same rules
/// a browser applies to module URLs on one origin, reduced to paths, so that the same files served
/// side by side under one directory import each other the same way in Chrome.
/// </summary>
internal static class ModuleNames
{
    /// <summary>The entry module's name (<c>code</c> in module mode): the root directory.</summary>
    public const string Entry = "module.mjs";

    /// <summary>Warden's fixed wrapper module that imports the entry.</summary>
    public const string Wrapper = "warden:entry";

    /// <summary>
    /// Names a submission's own modules may not take: the entry's and Warden's, also when they are
    /// only spelt differently ("/module.mjs", "./x/../module.mjs"), and a name that is no module at all ("/").
    /// </summary>
    public static bool IsReserved(string name)
    {
        string normalised = Normalise(name);
        return normalised is Entry or "" || name.StartsWith("warden:", StringComparison.Ordinal)
            || normalised.StartsWith("warden:", StringComparison.Ordinal);
    }

    /// <summary>
    /// The one name a module is stored and found under. A name written as a path ("./util.js",
    /// "/util.js", "lib/../util.js" written "./lib/../util.js") is resolved from the root, exactly as an
    /// import of that path from the entry would be, so every name the host accepts can be imported and
    /// two spellings of one module are caught as duplicates. A bare name is kept as written, as a bare
    /// import looks it up.
    /// </summary>
    public static string Normalise(string name) =>
        name.StartsWith("./", StringComparison.Ordinal) || name.StartsWith("../", StringComparison.Ordinal) || name.StartsWith('/')
            ? Resolve(Entry, name)
            : name;

    /// <summary>
    /// The name an import specifier refers to, seen from the module <paramref name="importer"/>:
    /// "./x" and "../x" resolve against the importer's directory, "/x" against the root (".." never
    /// climbs above it); anything else is a bare name, looked up as written.
    /// </summary>
    public static string Resolve(string importer, string specifier)
    {
        bool relative = specifier.StartsWith("./", StringComparison.Ordinal) || specifier.StartsWith("../", StringComparison.Ordinal);
        bool absolute = specifier.StartsWith('/');
        if (!relative && !absolute)
        {
            return specifier;
        }
        var parts = new List<string>();
        if (relative)
        {
            int slash = importer.LastIndexOf('/');
            if (slash > 0)
            {
                parts.AddRange(importer[..slash].Split('/'));
            }
        }
        foreach (var segment in specifier.Split('/'))
        {
            if (segment is "" or ".")
            {
                continue;
            }
            if (segment == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                continue;
            }
            parts.Add(segment);
        }
        return string.Join('/', parts);
    }

    /// <summary>Longest part of a refused specifier that is quoted back in the error message.</summary>
    private const int QuotedSpecifierChars = 200;

    /// <summary>What an import of a module that was not submitted throws, on every engine.</summary>
    public static string NotFoundMessage(string specifier) =>
        $"Cannot find module '{Quote(specifier)}': only the submitted modules can be imported";

    /// <summary>The specifier as written, cut to a bound and with control characters escaped, so it cannot add lines to stack text.</summary>
    private static string Quote(string specifier)
    {
        var text = new System.Text.StringBuilder();
        foreach (char c in specifier.Length <= QuotedSpecifierChars ? specifier : specifier[..QuotedSpecifierChars])
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                text.Append($"\\u{(int)c:x4}");
            }
            else
            {
                text.Append(c);
            }
        }
        return specifier.Length <= QuotedSpecifierChars ? text.ToString() : text.Append("...").ToString();
    }
}
