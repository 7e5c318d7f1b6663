namespace Warden;

/// <summary>
/// Every limit of an execution: its default, and the operator's maximum that no submission may exceed.
/// One property per limit; each setter rejects nonsense at once, and cross-property rules (a default
/// above its maximum) are checked when the sandbox starts. docs/limits.md explains every default.
/// </summary>
public sealed class SandboxLimits
{
    /// <summary>Memory can never be set above this, whatever the operator wants (design.md).</summary>
    public const int AbsoluteMaxMemoryMb = 4096;

    /// <summary>Smallest memory limit: below this V8 cannot hold the prelude and a context reliably.</summary>
    public const int MinMemoryMb = 16;

    /// <summary>Largest input an operator may allow: 64 MiB. The worker reads host frames of at most 512 MiB; an
    /// execute frame holds the input and the code (16 MiB at most) each escaped into a JSON string (at most 6 bytes
    /// a byte), 480 MiB together.</summary>
    public const int AbsoluteMaxInputBytes = 64 << 20;

    /// <summary>Longest timeout an operator may allow: longer jobs belong in a batch system.</summary>
    public const int AbsoluteMaxTimeoutMs = 15 * 60 * 1000;

    /// <summary>
    /// Largest fuel budget anyone may allow: 10^12 units, about 3 minutes of QuickJS compute (about 5·10^9 units a
    /// second on the development machine), well inside <see cref="AbsoluteMaxTimeoutMs"/>. One unit is about one
    /// WebAssembly instruction of the QuickJS interpreter, as Wasmtime counts fuel.
    /// </summary>
    public const long AbsoluteMaxFuel = 1_000_000_000_000;

    private int _defaultTimeoutMs = 5_000;
    private int _maxTimeoutMs = 60_000;
    private int _defaultMemoryMb = 128;
    private int _maxMemoryMb = 1024;
    private int _maxCodeBytes = 1 << 20;
    private int _maxInputBytes = 16 << 20;
    private int _maxConsoleBytes = 1 << 20;
    private int _maxConsoleEntries = 10_000;
    private int _maxResultBytes = 1 << 20;
    private int _maxErrorTextBytes = 8 << 10;
    private int _killGraceMs = 1000;
    private long _maxFuel = AbsoluteMaxFuel;
    private long? _defaultFuel;
    private int _maxHostCalls = 100;
    private int _maxConcurrentHostCalls = 8;
    private int _maxHostCallArgumentBytes = 1 << 20;
    private int _maxHostCallResultBytes = 1 << 20;
    private int _hostCallTimeoutMs = 5_000;
    private int _maxOutstandingHostCalls = 256;
    private int _maxFetchResponseBytes = 10 << 20;
    private int _maxFetchRequestBodyBytes = 1 << 20;
    private int _fetchTimeoutMs = 10_000;
    private long _maxFetchBytesInFlight = 128L << 20;

    /// <summary>Most host-function calls one execution may make (docs/limits.md, "Host functions"). Default 100, at most 100,000.
    /// The next call rejects with a RangeError naming the limit.</summary>
    public int MaxHostCalls { get => _maxHostCalls; set => _maxHostCalls = InRange(value, 1, 100_000); }

    /// <summary>Most host-function calls of one execution waiting for their answer at once. Default 8, at most 1024.</summary>
    public int MaxConcurrentHostCalls { get => _maxConcurrentHostCalls; set => _maxConcurrentHostCalls = InRange(value, 1, 1024); }

    /// <summary>Largest arguments of one host call, as JSON in UTF-8 bytes. Default 1 MiB, at most 16 MiB (the
    /// host parses them; a call frame holds them escaped, up to 6 bytes a byte).</summary>
    public int MaxHostCallArgumentBytes { get => _maxHostCallArgumentBytes; set => _maxHostCallArgumentBytes = InRange(value, 16, 16 << 20); }

    /// <summary>Largest result of one host call, as JSON in UTF-8 bytes. Default 1 MiB, at most 16 MiB (parsed inside
    /// the isolate by one uninterruptible <c>JSON.parse</c>).</summary>
    public int MaxHostCallResultBytes { get => _maxHostCallResultBytes; set => _maxHostCallResultBytes = InRange(value, 16, 16 << 20); }

    /// <summary>How long one host call may take before its promise rejects with a RangeError and its delegate's
    /// token is cancelled. Default 5 s, at most <see cref="AbsoluteMaxTimeoutMs"/>. The execution's own wall limit
    /// still runs while it waits.</summary>
    public int HostCallTimeoutMs { get => _hostCallTimeoutMs; set => _hostCallTimeoutMs = InRange(value, 1, AbsoluteMaxTimeoutMs); }

    /// <summary>
    /// Most host-function delegates running at once in this sandbox, all executions together, counting those
    /// whose call already timed out or whose execution already ended but which ignore their cancellation token
    /// (they keep their slot until they return). Past it a call rejects at once with a RangeError. Default 256, at most 100,000.
    /// </summary>
    public int MaxOutstandingHostCalls { get => _maxOutstandingHostCalls; set => _maxOutstandingHostCalls = InRange(value, 1, 100_000); }

    /// <summary>
    /// Largest response body one <c>fetch</c> request may bring back, in bytes after decompression (docs/limits.md,
    /// "fetch"). Default 10 MiB, at most 128 MiB. A larger <c>Content-Length</c> is refused before the body is read;
    /// a body that grows past it is cut off. Either way the fetch rejects with a RangeError naming the limit. The
    /// body then lives in the isolate and counts against the execution's memory.
    /// </summary>
    public int MaxFetchResponseBytes { get => _maxFetchResponseBytes; set => _maxFetchResponseBytes = InRange(value, 0, 128 << 20); }

    /// <summary>
    /// Most fetch response bytes the host holds at once, all executions of the sandbox together: a body counts from
    /// its first byte read until the reply carrying it to its worker has been sent (meanwhile the host also holds it
    /// encoded, in base64 within JSON: a few times its size). Past it a fetch rejects with a RangeError naming the limit
    /// and its connection is dropped. Default 128 MiB, from 1 MiB to 64 GiB, and at least <see cref="MaxFetchResponseBytes"/>.
    /// </summary>
    public long MaxFetchBytesInFlight { get => _maxFetchBytesInFlight; set => _maxFetchBytesInFlight = InRange(value, 1L << 20, 64L << 30); }

    /// <summary>Largest request body one <c>fetch</c> may send. Default 1 MiB, at most 16 MiB.</summary>
    public int MaxFetchRequestBodyBytes { get => _maxFetchRequestBodyBytes; set => _maxFetchRequestBodyBytes = InRange(value, 0, 16 << 20); }

    /// <summary>
    /// How long one <c>fetch</c> request (one redirect hop) may take, from its connection to the last byte of its
    /// body. Default 10 s, at most <see cref="AbsoluteMaxTimeoutMs"/>; past it the fetch rejects with a RangeError
    /// and the request is aborted. The execution's own wall limit still runs while it waits.
    /// </summary>
    public int FetchTimeoutMs { get => _fetchTimeoutMs; set => _fetchTimeoutMs = InRange(value, 1, AbsoluteMaxTimeoutMs); }

    /// <summary>Wall-clock timeout when a submission names none. Default 5 s: rules and transforms finish in milliseconds; 5 s leaves room for slow ones without letting a hog hold a worker long.</summary>
    public int DefaultTimeoutMs { get => _defaultTimeoutMs; set => _defaultTimeoutMs = InRange(value, 1, AbsoluteMaxTimeoutMs); }

    /// <summary>Largest timeout a submission may ask for. Default 60 s.</summary>
    public int MaxTimeoutMs { get => _maxTimeoutMs; set => _maxTimeoutMs = InRange(value, 1, AbsoluteMaxTimeoutMs); }

    /// <summary>The execution's memory budget in MB when a submission names none: heap, ArrayBuffers and the engine's off-heap memory together (docs/limits.md, "Memory"). Default 128 MB: ample for JSON transforms of a few MB, small enough that a worker per core fits in a small machine.</summary>
    public int DefaultMemoryMb { get => _defaultMemoryMb; set => _defaultMemoryMb = InRange(value, MinMemoryMb, AbsoluteMaxMemoryMb); }

    /// <summary>Largest memory limit a submission may ask for. Default 1024 MB; up to 4096 MB where the operator allows it.</summary>
    public int MaxMemoryMb { get => _maxMemoryMb; set => _maxMemoryMb = InRange(value, MinMemoryMb, AbsoluteMaxMemoryMb); }

    /// <summary>Largest source, in UTF-8 bytes. Default 1 MiB, at most 16 MiB: compiling is not interruptible, so source size bounds that time.</summary>
    public int MaxCodeBytes { get => _maxCodeBytes; set => _maxCodeBytes = InRange(value, 1, 16 << 20); }

    /// <summary>Largest input JSON, in UTF-8 bytes. Default 16 MiB: a data transform's export of a few megabytes is
    /// ordinary. At most <see cref="AbsoluteMaxInputBytes"/>: <c>JSON.parse</c> of the input is one uninterruptible call
    /// (docs/limits.md has its measured cost), and the worker's frame bound must hold the escaped input.</summary>
    public int MaxInputBytes { get => _maxInputBytes; set => _maxInputBytes = InRange(value, 1, AbsoluteMaxInputBytes); }

    /// <summary>Total console text, in UTF-8 bytes, per execution. Default 1 MiB. Past it the execution stops with <c>output_limit</c>.</summary>
    public int MaxConsoleBytes { get => _maxConsoleBytes; set => _maxConsoleBytes = InRange(value, 0, 64 << 20); }

    /// <summary>Console entries per execution. Default 10,000: an empty entry costs no bytes but still costs the host memory.</summary>
    public int MaxConsoleEntries { get => _maxConsoleEntries; set => _maxConsoleEntries = InRange(value, 0, 1_000_000); }

    /// <summary>Largest serialised result, in UTF-8 bytes. Default 1 MiB. Past it: <c>output_limit</c>.</summary>
    public int MaxResultBytes { get => _maxResultBytes; set => _maxResultBytes = InRange(value, 16, 256 << 20); }

    /// <summary>Largest error name, message or stack, in UTF-8 bytes; longer text is truncated (never a status of its own). Default 8 KiB.</summary>
    public int MaxErrorTextBytes { get => _maxErrorTextBytes; set => _maxErrorTextBytes = InRange(value, 256, 1 << 20); }

    /// <summary>
    /// How long past its timeout the host lets a worker run before killing it. Default 1 s, the most
    /// design.md allows: the worker ends itself at most 1 s after its own trip (250 ms of the script
    /// thread's CPU, 1 s of wall time on a starved machine), and the host's kill must not come first —
    /// it would lose a worker that was about to answer. Measured: a flood of one-liners under a 200 ms
    /// limit answered up to 505 ms after its start on a quiet two-core machine (an uninterruptible
    /// dictionary rehash in <c>Array.from</c>), and past the old 500 ms grace under the full test suite.
    /// A lower value only trades a worker for a quicker answer to a hung or compromised one.
    /// </summary>
    public int KillGraceMs { get => _killGraceMs; set => _killGraceMs = InRange(value, 50, 1000); }

    /// <summary>
    /// Largest fuel budget (<c>limits.fuel</c>) a submission may ask for, on an engine that counts fuel (quickjs).
    /// Default and most: <see cref="AbsoluteMaxFuel"/>. A unit is about one WebAssembly instruction of the QuickJS
    /// interpreter (fib(27) ≈ 6.6·10^8 units, fib(30) ≈ 2.8·10^9); the count is deterministic, the same on every
    /// run and machine, so a budget is a cost a caller can reproduce, where a timeout depends on the machine's load.
    /// </summary>
    public long MaxFuel { get => _maxFuel; set => _maxFuel = InRange(value, 1, AbsoluteMaxFuel); }

    /// <summary>
    /// Fuel budget of a quickjs execution that names none; null (the default): no fuel limit, so ordinary work is
    /// never stopped by fuel, only by its time and memory limits. 1 to <see cref="AbsoluteMaxFuel"/>, and at most
    /// <see cref="MaxFuel"/>. Engines that count no fuel (v8) ignore it.
    /// </summary>
    public long? DefaultFuel
    {
        get => _defaultFuel;
        set => _defaultFuel = value is long fuel ? InRange(fuel, 1, AbsoluteMaxFuel) : null;
    }

    internal IEnumerable<string> Validate()
    {
        if (DefaultTimeoutMs > MaxTimeoutMs)
        {
            yield return $"Limits.DefaultTimeoutMs ({DefaultTimeoutMs}) is above Limits.MaxTimeoutMs ({MaxTimeoutMs}).";
        }
        if (DefaultMemoryMb > MaxMemoryMb)
        {
            yield return $"Limits.DefaultMemoryMb ({DefaultMemoryMb}) is above Limits.MaxMemoryMb ({MaxMemoryMb}).";
        }
        if (DefaultFuel > MaxFuel)
        {
            yield return $"Limits.DefaultFuel ({DefaultFuel}) is above Limits.MaxFuel ({MaxFuel}).";
        }
        if (MaxFetchBytesInFlight < MaxFetchResponseBytes)
        {
            yield return $"Limits.MaxFetchBytesInFlight ({MaxFetchBytesInFlight}) is below Limits.MaxFetchResponseBytes ({MaxFetchResponseBytes}): a response at its limit could never be read.";
        }
    }

    internal SandboxLimits Clone() => (SandboxLimits)MemberwiseClone();

    private static int InRange(int value, int min, int max, [System.Runtime.CompilerServices.CallerMemberName] string name = "") =>
        (int)InRange((long)value, min, max, name);

    private static long InRange(long value, long min, long max, [System.Runtime.CompilerServices.CallerMemberName] string name = "")
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be between {min} and {max}.");
        }
        return value;
    }
}
