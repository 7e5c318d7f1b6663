using System.Text.Json;

namespace Warden.Hosting.Isolation;

/// <summary>
/// The files a worker needs from its directory, and nothing else: the worker usually sits in the host
/// application's output directory, next to its configuration (appsettings.json, certificates, .env)
/// which a compromised worker must not read. Read from the worker's own deps.json (what the .NET
/// host itself loads from): its entry assembly and runtime config, each library's runtime assets
/// (placed flat in the directory) and the native assets for Linux, under their relative paths.
/// </summary>
internal static class WorkerFiles
{
    private static readonly string[] NativeRids = ["linux-x64", "linux", "unix", "any"];

    /// <summary>Paths relative to the worker's directory; null when its deps.json cannot be read.</summary>
    public static IReadOnlyList<string>? Resolve(string workerAssembly)
    {
        string directory = Path.GetDirectoryName(workerAssembly)!;
        string stem = Path.GetFileNameWithoutExtension(workerAssembly);
        string depsPath = Path.Combine(directory, stem + ".deps.json");
        var files = new SortedSet<string>(StringComparer.Ordinal)
        {
            Path.GetFileName(workerAssembly), stem + ".deps.json", stem + ".runtimeconfig.json",
        };
        try
        {
            using var deps = JsonDocument.Parse(File.ReadAllBytes(depsPath));
            foreach (var target in deps.RootElement.GetProperty("targets").EnumerateObject())
            {
                foreach (var library in target.Value.EnumerateObject())
                {
                    foreach (var kind in new[] { "runtime", "native" })
                    {
                        if (library.Value.TryGetProperty(kind, out var assets))
                        {
                            foreach (var asset in assets.EnumerateObject())
                            {
                                files.Add(Path.GetFileName(asset.Name));
                            }
                        }
                    }
                    if (library.Value.TryGetProperty("runtimeTargets", out var targeted))
                    {
                        foreach (var asset in targeted.EnumerateObject())
                        {
                            if (asset.Value.TryGetProperty("rid", out var rid) && NativeRids.Contains(rid.GetString()))
                            {
                                // A publish for one runtime places it flat in the directory instead.
                                files.Add(File.Exists(Path.Combine(directory, asset.Name)) ? asset.Name : Path.GetFileName(asset.Name));
                            }
                        }
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
        // Every listed file must be there: a worker missing one would fail in ways that look like
        // attacks; better to report the layer as unusable with this worker.
        bool complete = files.All(f => !Path.IsPathRooted(f) && !f.Split('/').Contains("..") && File.Exists(Path.Combine(directory, f)));
        return complete ? files.ToList() : null;
    }
}
