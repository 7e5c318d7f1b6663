namespace Warden.Worker.Engines;

/// <summary>Why an entry into an engine ended without returning.</summary>
internal enum EngineAbort
{
    /// <summary>The script stopped because <see cref="IEngineInstance.Interrupt"/> asked it to.</summary>
    Interrupted,
    /// <summary>The engine's own memory cap (its heap limit, a store's limit) was reached. The instance
    /// may refuse further calls but must still dispose.</summary>
    MemoryLimit,
    /// <summary>The execution's fuel ran out (an engine that counts fuel: <c>limits.fuel</c>).</summary>
    FuelExhausted,
    /// <summary>The engine's native stack ran out (deeper than its own recursion limit caught): the script's
    /// RangeError, reported by the host since the engine could not run the script's handlers any more.</summary>
    StackOverflow,
    /// <summary>The engine or Warden's own code in it failed. Its text may carry strings a script made,
    /// so none of it is kept.</summary>
    Fault,
}

/// <summary>
/// How an engine instance reports that an entry ended without returning, in place of its library's own
/// exceptions: carries the kind only, never the engine's text.
/// </summary>
internal sealed class EngineAbortException(EngineAbort kind) : Exception("The engine stopped: " + kind)
{
    public EngineAbort Kind { get; } = kind;
}
