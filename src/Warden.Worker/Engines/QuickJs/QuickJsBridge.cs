namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// The bridge's functions as the QuickJS prelude sees them (one host function each, on a record only the
/// prelude holds) — the same seven as V8's <see cref="V8.SandboxBridge"/>, dispatched by
/// <see cref="QuickJsInstance.HostCall"/>.
/// </summary>
/// <remarks>
/// SECURITY: QuickJS's trampoline passes the host the function's name from the function's own data, which
/// only these host functions have; a name that is none of these (a corrupted guest) is refused and traps.
/// </remarks>
internal static class QuickJsBridge
{
    public enum Function
    {
        None,
        Now,
        Log,
        Complete,
        Fail,
        RandomBytes,
        CollectGarbage,
        LoadWebApis,
    }

    public static IReadOnlyList<string> Names { get; } =
        [.. Enum.GetValues<Function>().Where(f => f != Function.None).Select(f => f.ToString())];

    /// <summary>The function the UTF-8 <paramref name="name"/> names, or <see cref="Function.None"/>.</summary>
    public static Function Find(ReadOnlySpan<byte> name)
    {
        foreach (var function in Enum.GetValues<Function>())
        {
            if (function != Function.None && name.Length == function.ToString().Length && System.Text.Encoding.ASCII.GetString(name) == function.ToString())
            {
                return function;
            }
        }
        return Function.None;
    }
}
