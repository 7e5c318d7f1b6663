using Warden.Protocol;

namespace Warden;

/// <summary>How an execution ended. Each status has a fixed wire word and CLI exit code.</summary>
public enum OutcomeStatus
{
    /// <summary>The script's result settled and was serialised (<c>ok</c>, exit 0).</summary>
    Ok,
    /// <summary>The script threw, rejected, failed to compile, or can no longer settle (<c>script_error</c>, exit 1).</summary>
    ScriptError,
    /// <summary>CPU time, wall time or fuel ran out (<c>timeout</c>, exit 2).</summary>
    Timeout,
    /// <summary>Heap, ArrayBuffer or process memory ran out (<c>memory_limit</c>, exit 3).</summary>
    MemoryLimit,
    /// <summary>Console output or the result exceeded its bound (<c>output_limit</c>, exit 4).</summary>
    OutputLimit,
    /// <summary>The submission itself was rejected before running (<c>invalid_request</c>, exit 64).</summary>
    InvalidRequest,
    /// <summary>Warden failed, or a worker misbehaved or died for a reason that is not the script's own (<c>internal_error</c>, exit 70).</summary>
    InternalError,
}

/// <summary>Which limit ended an execution (<c>error.limit</c> in the outcome JSON).</summary>
public enum LimitKind
{
    /// <summary>CPU time of the script thread.</summary>
    Cpu,
    /// <summary>Wall-clock time from the start of the execution.</summary>
    Wall,
    /// <summary>The V8 heap.</summary>
    Heap,
    /// <summary>ArrayBuffer and typed-array backing stores.</summary>
    ArrayBuffer,
    /// <summary>The worker's memory budget for the execution: its resident memory grew past it (off-heap memory included).</summary>
    Process,
    /// <summary>Console output bytes or entries.</summary>
    Console,
    /// <summary>The serialised result's size.</summary>
    Result,
    /// <summary>The fuel budget (<c>limits.fuel</c>) of an engine that counts fuel (quickjs); status <c>timeout</c>.</summary>
    Fuel,
}

/// <summary>
/// The fixed words and exit codes of the contract. The words are the protocol's (<c>WireStatus</c>): the
/// worker reports them, the outcome JSON prints them, and both must be spelt in one place.
/// </summary>
public static class OutcomeCodes
{
    /// <summary>The wire word of a status, e.g. <c>script_error</c>.</summary>
    public static string ToWireString(this OutcomeStatus status) => status switch
    {
        OutcomeStatus.Ok => WireStatus.Ok,
        OutcomeStatus.ScriptError => WireStatus.ScriptError,
        OutcomeStatus.Timeout => WireStatus.Timeout,
        OutcomeStatus.MemoryLimit => WireStatus.MemoryLimit,
        OutcomeStatus.OutputLimit => WireStatus.OutputLimit,
        OutcomeStatus.InvalidRequest => WireStatus.InvalidRequest,
        _ => WireStatus.InternalError,
    };

    /// <summary>The process exit code that <c>warden run</c> uses for a status.</summary>
    public static int ToExitCode(this OutcomeStatus status) => status switch
    {
        OutcomeStatus.Ok => 0,
        OutcomeStatus.ScriptError => 1,
        OutcomeStatus.Timeout => 2,
        OutcomeStatus.MemoryLimit => 3,
        OutcomeStatus.OutputLimit => 4,
        OutcomeStatus.InvalidRequest => 64,
        _ => 70,
    };

    /// <summary>The wire word of a limit, e.g. <c>arrayBuffer</c>.</summary>
    public static string ToWireString(this LimitKind limit) => limit switch
    {
        LimitKind.Cpu => WireStatus.LimitCpu,
        LimitKind.Wall => WireStatus.LimitWall,
        LimitKind.Heap => WireStatus.LimitHeap,
        LimitKind.ArrayBuffer => WireStatus.LimitArrayBuffer,
        LimitKind.Process => WireStatus.LimitProcess,
        LimitKind.Console => WireStatus.LimitConsole,
        LimitKind.Fuel => WireStatus.LimitFuel,
        _ => WireStatus.LimitResult,
    };

    internal static bool TryParseStatus(string word, out OutcomeStatus status) => TryParse(word, ToWireString, out status);

    internal static bool TryParseLimit(string word, out LimitKind limit) => TryParse(word, ToWireString, out limit);

    private static bool TryParse<T>(string word, Func<T, string> toWire, out T value) where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (toWire(candidate) == word)
            {
                value = candidate;
                return true;
            }
        }
        value = default;
        return false;
    }
}
