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

    /// <summary>Names a submission's own modules may not take.</summary>
    public static bool IsReserved(string name) =>
        Normalise(name) == Entry || name.StartsWith("warden:", StringComparison.Ordinal);

    /// <summary>A module's name as submitted, without a leading "./" (so "./util.js" and "util.js" are one name).</summary>
    public static string Normalise(string name) => name.StartsWith("./", StringComparison.Ordinal) ? name[2..] : name;

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
}
