namespace Warden.Hosting.Fetch;

/// <summary>
/// The sandbox-wide bound on fetch response bytes the host holds at once (<see cref="SandboxLimits.MaxFetchBytesInFlight"/>),
/// all executions together. SECURITY: each response is bounded on its own (<see cref="SandboxLimits.MaxFetchResponseBytes"/>),
/// but the host holds a body from its first byte until the reply carrying it (in base64, inside JSON, inside a frame:
/// several times its size while it is encoded) has been sent; without a common bound, a few tenants fetching large
/// files at the default concurrency could hold gigabytes of the host's memory. Bytes are counted as they are read.
/// </summary>
internal sealed class FetchBodyBudget(long maxBytes)
{
    private long _inFlight;

    /// <summary>Body bytes held now.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    public long MaxBytes => maxBytes;

    public bool TryTake(long bytes)
    {
        if (Interlocked.Add(ref _inFlight, bytes) <= maxBytes)
        {
            return true;
        }
        Interlocked.Add(ref _inFlight, -bytes);
        return false;
    }

    public void Give(long bytes) => Interlocked.Add(ref _inFlight, -bytes);

    /// <summary>One response's share, given back once (when its reply is sent or abandoned, or it failed).</summary>
    public Lease NewLease() => new(this);

    internal sealed class Lease(FetchBodyBudget budget)
    {
        private long _taken;

        /// <summary>Takes <paramref name="bytes"/> more, or refuses without taking any.</summary>
        public bool TryTake(long bytes)
        {
            if (!budget.TryTake(bytes))
            {
                return false;
            }
            Interlocked.Add(ref _taken, bytes);
            return true;
        }

        public void Release() => budget.Give(Interlocked.Exchange(ref _taken, 0));
    }
}
