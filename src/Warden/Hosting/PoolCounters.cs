namespace Warden.Hosting;

/// <summary>
/// The pool's counters, changed only through the events below (always under the pool's lock): the
/// slots that bound how many processes exist and run, and what <see cref="SandboxStatistics"/> reports.
/// </summary>
internal sealed class PoolCounters
{
    private readonly Dictionary<string, long> _retired = new(StringComparer.Ordinal);

    /// <summary>Processes started or starting; bounded by MaxWorkers + SpareWorkers.</summary>
    public int Alive { get; private set; }

    /// <summary>Slots granted to an execution (its worker ready or starting for it); bounded by MaxWorkers.</summary>
    public int Busy { get; private set; }

    /// <summary>Spares being started in the background.</summary>
    public int StartingSpares { get; private set; }

    /// <summary>Workers that reached ready.</summary>
    public long Started { get; private set; }

    /// <summary>An idle worker was granted to an execution.</summary>
    public void GrantedIdleWorker() => Busy++;

    /// <summary>An execution may start a new process in a new slot.</summary>
    public void GrantedNewSlot()
    {
        Alive++;
        Busy++;
    }

    /// <summary>An execution may start a new process in the slot of an idle worker just retired for it.</summary>
    public void GrantedRetiredWorkersSlot() => Busy++;

    /// <summary>A slot granted for a new process is given back without one (the start failed, or the grant was cancelled).</summary>
    public void GrantAbandoned()
    {
        Alive--;
        Busy--;
    }

    /// <summary>A worker came back from its execution (or from a cancelled grant).</summary>
    public void WorkerReturned() => Busy--;

    /// <summary>Worker starts that failed (spares and on demand).</summary>
    public long StartFailures { get; private set; }

    /// <summary>When a worker last reached ready; null before the first.</summary>
    public DateTimeOffset? LastStarted { get; private set; }

    /// <summary>When a worker start last failed; null before the first failure. Readiness compares the two.</summary>
    public DateTimeOffset? LastStartFailed { get; private set; }

    /// <summary>A process reached ready.</summary>
    public void WorkerStarted()
    {
        Started++;
        LastStarted = DateTimeOffset.UtcNow;
    }

    /// <summary>A process could not be started (it failed its handshake, timed out, or could not be spawned).</summary>
    public void WorkerStartFailed()
    {
        StartFailures++;
        LastStartFailed = DateTimeOffset.UtcNow;
    }

    public void SpareStarting()
    {
        Alive++;
        StartingSpares++;
    }

    public void SpareStartEnded(bool started)
    {
        StartingSpares--;
        if (!started)
        {
            Alive--;
        }
    }

    /// <summary>A worker is being retired; its slot is freed unless another execution takes it over.</summary>
    public void WorkerRetired(RetirementReason reason, bool freesSlot)
    {
        if (freesSlot)
        {
            Alive--;
        }
        string label = reason.Label();
        _retired[label] = _retired.GetValueOrDefault(label) + 1;
    }

    public Dictionary<string, long> RetiredByReason() => new(_retired, StringComparer.Ordinal);
}
