using Warden.Protocol;

namespace Warden.Worker.Engines;

/// <summary>
/// One engine instance, made for exactly one execution and then disposed. Driven by
/// <see cref="ExecutionRunner"/> on the script thread: <see cref="Start"/> once, then <see cref="Tick"/>
/// until the event loop settles; only <see cref="Interrupt"/> is called from elsewhere (the watchdog).
/// The instance reports what the script says (console, result, failure) into the
/// <see cref="ExecutionRecorder"/> it was made with.
/// </summary>
/// <remarks>
/// Entering the engine (Start, Tick) ends in one of two ways: it returns, or it throws
/// <see cref="EngineAbortException"/>. No engine library's exception may escape (its text can carry
/// strings a script made); anything else that escapes is a worker fault.
/// </remarks>
internal interface IEngineInstance : IDisposable
{
    /// <summary>
    /// Runs the submission's top level (classic script or module graph). An engine that needs more than
    /// one entry to do so asks <paramref name="mayContinue"/> before each further entry: an interrupt
    /// that arrives while no script runs is lost, so a tripped execution must not be entered again.
    /// </summary>
    void Start(ExecuteMessage request, Func<bool> mayContinue);

    /// <summary>Runs one turn of the event loop (due timers, then pending jobs) and says what is left.</summary>
    EventLoopTurn Tick();

    /// <summary>
    /// Asks the running script to stop as soon as it can; it then leaves Start or Tick with
    /// <see cref="EngineAbort.Interrupted"/>. Called from the watchdog thread, repeatedly once an
    /// execution is tripped, also while no script runs and while the instance is being disposed: it must
    /// be thread-safe, must not block on the script thread and must not throw.
    /// </summary>
    void Interrupt();

    /// <summary>The memory the engine holds for the script now (heap and buffers), for <c>usage.memoryBytes</c>.
    /// Script thread only, between entries; 0 when the engine can no longer tell.</summary>
    long MemoryInUseBytes();

    /// <summary>The fuel the execution consumed, for <c>usage.fuel</c>; null for an engine that counts none.
    /// Script thread only, after the last entry.</summary>
    long? FuelConsumed();

    /// <summary>
    /// Given a SyntaxError the script reported while loading (phase evaluate or module), the same failure
    /// with the parser's message and position when the engine can find them by parsing the submission's
    /// sources again (which runs no code); else the failure unchanged.
    /// </summary>
    ReportedFailure LocateSyntaxError(ExecuteMessage request, ReportedFailure failure);
}

/// <summary>What is left after one turn of an engine's event loop.</summary>
internal enum EventLoopState
{
    /// <summary>The script's result is settled and reported: the execution is over.</summary>
    Settled,
    /// <summary>The result is still pending and nothing is left that could settle it (no timer, no job).</summary>
    Idle,
    /// <summary>A timer is pending: call Tick again at <see cref="EventLoopTurn.NextTimerAtMs"/>.</summary>
    TimerPending,
    /// <summary>The loop answered something it never answers: the engine's own code is broken.</summary>
    Broken,
}

/// <param name="NextTimerAtMs">When the next timer is due, on the execution's clock (<see cref="ExecutionRecorder.ElapsedMs"/>).</param>
internal readonly record struct EventLoopTurn(EventLoopState State, double NextTimerAtMs = 0);
