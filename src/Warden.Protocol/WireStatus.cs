namespace Warden.Protocol;

/// <summary>The status and limit words shared by the wire and the public outcome JSON.</summary>
internal static class WireStatus
{
    public const string Ok = "ok";
    public const string ScriptError = "script_error";
    public const string Timeout = "timeout";
    public const string MemoryLimit = "memory_limit";
    public const string OutputLimit = "output_limit";
    public const string InvalidRequest = "invalid_request";
    public const string InternalError = "internal_error";

    public const string LimitCpu = "cpu";
    public const string LimitWall = "wall";
    /// <summary>The fuel budget of an engine that counts fuel (status <c>timeout</c>).</summary>
    public const string LimitFuel = "fuel";
    public const string LimitHeap = "heap";
    public const string LimitArrayBuffer = "arrayBuffer";
    public const string LimitProcess = "process";
    public const string LimitConsole = "console";
    public const string LimitResult = "result";

    public static readonly IReadOnlySet<string> ConsoleLevels =
        new HashSet<string>(StringComparer.Ordinal) { "log", "info", "warn", "error", "debug", "trace" };
}
