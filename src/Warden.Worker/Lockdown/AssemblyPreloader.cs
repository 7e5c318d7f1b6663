using System.Reflection;

namespace Warden.Worker.Lockdown;

/// <summary>
/// Loads every assembly the worker references, transitively, before the lockdown: loading one later
/// (a rare error path, a lazily used library) would need calls the seccomp filter may refuse, and a
/// worker that cannot load its own code fails in ways that look like attacks.
/// </summary>
internal static class AssemblyPreloader
{
    public static int LoadAll()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<Assembly>([typeof(AssemblyPreloader).Assembly]);
        while (pending.TryPop(out var assembly))
        {
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                if (reference.Name is { } name && seen.Add(name))
                {
                    try
                    {
                        pending.Push(Assembly.Load(reference));
                    }
                    catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
                    {
                        // A facade reference with no file behind it: nothing to load later either.
                    }
                }
            }
        }
        return seen.Count;
    }
}
