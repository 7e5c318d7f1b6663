using System.Globalization;

namespace Warden.Protocol;

/// <summary>
/// The rules and messages of host calls shared by the host and the worker (one wording each, whichever side
/// refuses a call): the module's name, what a function may be called, and the text of each refusal the
/// script sees as a rejected promise.
/// </summary>
internal static class HostCallWords
{
    /// <summary>The module that exports the granted host functions.</summary>
    public const string ModuleName = "warden:host";

    /// <summary>
    /// The global the prelude puts the granted functions on while <c>warden:host</c> is evaluated, before any user
    /// code runs, and removes right after (Prelude/host.js).
    /// </summary>
    public const string HandoffGlobal = "__wardenHostFunctions";

    /// <summary>
    /// The source of <c>warden:host</c> for these granted names (valid names only, so this text is Warden's own):
    /// one export per name, taken from the prelude's handoff. Its own bindings are non-ASCII (<c>ω</c>, <c>ω0</c>, …)
    /// and every name is exported with <c>export { ωN as name }</c>, which binds nothing: no granted name (all ASCII)
    /// can collide with them or shadow <c>globalThis</c> in the module's scope (a function named <c>f</c> or
    /// <c>globalThis</c> broke an earlier form), and reserved words (<c>for</c>) are valid export names.
    /// </summary>
    public static string ModuleSource(IEnumerable<string> names)
    {
        var source = new System.Text.StringBuilder("const \u03c9 = globalThis." + HandoffGlobal + ";\n");
        var exports = new List<string>();
        int i = 0;
        foreach (var name in names)
        {
            if (!IsValidName(name))
            {
                throw new ArgumentException("not a host function name", nameof(names));
            }
            source.Append("const \u03c9").Append(i).Append(" = \u03c9[\"").Append(name).Append("\"];\n");
            exports.Add("\u03c9" + i + " as " + name);
            i++;
        }
        source.Append("export { ").Append(string.Join(", ", exports)).Append(" };\n");
        return source.ToString();
    }

    /// <summary>Longest host function name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>The error names a host call's rejection may carry (the worker makes the error from its own constructors).</summary>
    public const string ErrorName = "Error", RangeErrorName = "RangeError", TypeErrorName = "TypeError";

    /// <summary>
    /// Whether <paramref name="name"/> can be a host function's name: an ASCII JavaScript identifier of at most
    /// <see cref="MaxNameLength"/> characters, and neither <c>then</c> (a module namespace with a <c>then</c>
    /// export is a thenable: <c>await import('warden:host')</c> would call it) nor <c>default</c>.
    /// SECURITY: the names are written into the generated source of <c>warden:host</c>; this is what keeps
    /// that source Warden's own.
    /// </summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name is "then" or "default")
        {
            return false;
        }
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' or '$' || (i > 0 && c is >= '0' and <= '9');
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Whether <paramref name="name"/> was granted: one of the functions, or fetch when origins were granted.</summary>
    public static bool IsGranted(WireHostGrant grant, string name) =>
        name == FetchWords.CallName ? grant.Fetch is not null : Array.IndexOf(grant.Functions, name) >= 0;

    /// <summary>The largest arguments (JSON, UTF-8 bytes) of one call of <paramref name="name"/>: a fetch's are bounded by its body limit instead.</summary>
    public static int MaxArgumentBytes(WireHostGrant grant, string name) =>
        name == FetchWords.CallName && grant.Fetch is { } fetch ? FetchWords.MaxCallArgumentBytes(fetch.MaxRequestBodyBytes) : grant.MaxArgumentBytes;

    /// <summary>The RangeError of a call of <paramref name="name"/> whose arguments are over their limit: a fetch's names its body limit.</summary>
    public static string ArgumentsTooLarge(WireHostGrant grant, string name) =>
        name == FetchWords.CallName && grant.Fetch is { } fetch
            ? FetchWords.RequestBodyTooLarge(fetch.MaxRequestBodyBytes)
            : ArgumentsTooLarge(grant.MaxArgumentBytes);

    /// <summary>The largest answer (JSON, UTF-8 bytes) of one call of <paramref name="name"/>: a fetch's body is bounded by its own limit, on the host, as it is read.</summary>
    public static long MaxResultBytes(WireHostGrant grant, string name) =>
        name == FetchWords.CallName && grant.Fetch is { } fetch ? FetchWords.MaxAnswerBytes(fetch.MaxResponseBytes) : grant.MaxResultBytes;

    /// <summary>How long one call of <paramref name="name"/> may take.</summary>
    public static int TimeoutMs(WireHostGrant grant, string name) =>
        name == FetchWords.CallName && grant.Fetch is { } fetch ? fetch.TimeoutMs : grant.CallTimeoutMs;

    /// <summary>The RangeError of a call of <paramref name="name"/> that took too long.</summary>
    public static string TimedOut(WireHostGrant grant, string name) =>
        name == FetchWords.CallName ? FetchWords.TimedOut(TimeoutMs(grant, name)) : TimedOut(name, grant.CallTimeoutMs);

    public static string TooManyCalls(int maxCalls) =>
        string.Format(CultureInfo.InvariantCulture, "Host call limit exceeded: at most {0} calls per execution (maxCalls)", maxCalls);

    public static string TooManyConcurrentCalls(int maxConcurrent) =>
        string.Format(CultureInfo.InvariantCulture, "Host call limit exceeded: at most {0} calls at once (maxConcurrentCalls)", maxConcurrent);

    public static string ArgumentsTooLarge(int maxBytes) =>
        string.Format(CultureInfo.InvariantCulture, "Host call limit exceeded: the arguments are larger than {0} bytes (maxArgumentBytes)", maxBytes);

    public static string ResultTooLarge(string name, int maxBytes) =>
        string.Format(CultureInfo.InvariantCulture, "Host call limit exceeded: the result of {0} is larger than {1} bytes (maxResultBytes)", name, maxBytes);

    public static string TimedOut(string name, int timeoutMs) =>
        string.Format(CultureInfo.InvariantCulture, "Host call limit exceeded: {0} did not answer within {1} ms (callTimeoutMs)", name, timeoutMs);

    public static string HostBusy() => "Host call limit exceeded: the host has too many calls outstanding (maxOutstandingHostCalls)";

    /// <summary>What a delegate's failure shows when it is not a HostFunctionException: nothing of its own text.</summary>
    public static string Failed(string name) => string.Format(CultureInfo.InvariantCulture, "The host function {0} failed", name);

    /// <summary>A call made once the execution had its outcome (code still running in the turn that settled it): refused in the worker.</summary>
    public const string ExecutionOver = "Host call refused: the execution already has its outcome";

    /// <summary>A reply that carries neither a result nor an error (the host never sends one).</summary>
    public const string NoAnswer = "The host sent no answer to the call";
}
