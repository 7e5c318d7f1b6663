namespace Warden.Hosting;

/// <summary>
/// What <see cref="WorkerPool{TWorker}"/> needs of a worker: the facts its
/// <see cref="RetirementPolicy"/> reads, and a way to end it. The seam that lets the pool be tested
/// without processes.
/// </summary>
internal interface IPooledWorker
{
    int Pid { get; }

    /// <summary>The one engine this worker runs (it never serves another).</summary>
    string EngineName { get; }

    DateTime StartedAt { get; }

    /// <summary>Executions it was given so far.</summary>
    int Executions { get; }

    /// <summary>False once it died, was killed, or broke the protocol.</summary>
    bool IsUsable { get; }

    /// <summary>Its memory at rest grew well past what it used when it became ready (read afresh each time).</summary>
    bool HasOutgrownItsBaseline { get; }

    /// <summary>It is dead and the kernel's seccomp filter killed it.</summary>
    bool WasKilledBySeccomp { get; }

    /// <summary>Kills it for good and releases what it holds; never throws.</summary>
    ValueTask RetireAsync(string reason);
}

/// <summary>Starts a worker for an engine: the pool's other seam.</summary>
internal interface IWorkerStarter<TWorker>
    where TWorker : IPooledWorker
{
    /// <exception cref="WorkerStartException">The worker could not be started.</exception>
    Task<TWorker> StartAsync(string engine, CancellationToken cancellationToken);
}
