namespace Warden.Protocol;

/// <summary>
/// Exit codes with which a worker ends itself when a limit tripped but the engine did not stop
/// (a built-in that never checks for interrupts): the host reports the limit at once instead of
/// waiting for its own deadline. A compromised worker can exit with these too, but it can already
/// report any outcome within the schema; these only name the limit of its own execution.
/// </summary>
internal static class WorkerExitCodes
{
    public const int CpuLimit = 81;
    public const int WallLimit = 82;
    public const int MemoryLimit = 83;
    public const int ConsoleLimit = 84;
}
