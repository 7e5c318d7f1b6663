namespace Warden.Hosting;

/// <summary>
/// Which workers may serve an execution: the same engine and the same isolation key. A worker serves
/// one key of one engine for its whole life.
/// </summary>
internal readonly record struct WorkerKey(string Engine, string IsolationKey)
{
    // Isolation keys chosen by callers are prefixed so that no caller key can equal the keyless group's.
    private const string KeylessGroup = "anon";
    private const string KeyPrefix = "key:";

    /// <param name="engine">The engine that runs the submission.</param>
    /// <param name="isolationKey">The submission's key; null puts it with every other keyless submission of the engine.</param>
    public static WorkerKey For(string engine, string? isolationKey) =>
        new(engine, isolationKey is null ? KeylessGroup : KeyPrefix + isolationKey);
}
