using System.Globalization;

namespace Warden.Protocol;

/// <summary>
/// The messages of the limit failures the worker and the host report (<c>error.message</c>): one wording
/// each, whichever side ends the execution. The prelude's share reaches it through <see cref="PreludeWords"/>.
/// </summary>
internal static class LimitMessages
{
    /// <summary>The result message's template; <c>{0}</c> is the limit in bytes (the prelude fills it in itself).</summary>
    public const string ResultTooLargeTemplate = "The result is larger than {0} bytes";

    public static string CpuTime(int cpuMs) => $"CPU time limit of {cpuMs} ms exceeded";

    public static string WallTime(int timeoutMs) => $"Time limit of {timeoutMs} ms exceeded";

    public static string Fuel(long fuel) => string.Format(CultureInfo.InvariantCulture, "Fuel limit of {0} units exceeded", fuel);

    /// <summary>The host's deadline killed a worker whose script ignored the interrupt.</summary>
    public static string WallTimeKilled(int timeoutMs) =>
        WallTime(timeoutMs) + "; the script could not be interrupted, so its worker was killed";

    public static string Heap(int memoryMb) => $"Heap limit of {memoryMb} MB exceeded";

    /// <param name="residentTripBytes">The engine's trip point for the worker's growth (for V8, <see cref="MemoryBudgets.ResidentTripBytes"/>).</param>
    public static string ResidentMemory(int memoryMb, long residentTripBytes) =>
        $"The execution's memory (heap, buffers and the engine's own together) grew past its budget of {memoryMb} MB (the worker grew by more than {residentTripBytes >> 20} MB)";

    public static string Console(long maxConsoleBytes, int maxConsoleEntries) =>
        $"Console output passed its limit ({maxConsoleBytes} bytes or {maxConsoleEntries} entries)";

    public static string ResultTooLarge(long maxResultBytes) =>
        string.Format(CultureInfo.InvariantCulture, ResultTooLargeTemplate, maxResultBytes);
}
