namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// The bridge's functions as the QuickJS prelude sees them (one host function each, on a record only the
/// prelude holds) — the same ten as V8's <see cref="V8.SandboxBridge"/>, dispatched by
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
        HostGrant,
        HostCall,
        HostReply,
    }

    private static readonly Function[] Functions = [.. Enum.GetValues<Function>().Where(f => f != Function.None)];

    public static IReadOnlyList<string> Names { get; } = [.. Functions.Select(f => f.ToString())];

    /// <summary>The names as the guest passes them (UTF-8), made once: every bridge call is looked up here.</summary>
    private static readonly byte[][] Utf8Names = [.. Names.Select(System.Text.Encoding.UTF8.GetBytes)];

    /// <summary>The function the UTF-8 <paramref name="name"/> names, or <see cref="Function.None"/>.</summary>
    public static Function Find(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < Utf8Names.Length; i++)
        {
            if (name.SequenceEqual(Utf8Names[i]))
            {
                return Functions[i];
            }
        }
        return Function.None;
    }
}
