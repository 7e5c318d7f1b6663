using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>
/// The start of a worker's conversation: <c>configure</c> out, <c>ready</c> back within the start
/// timeout. SECURITY: <c>ready</c> is read before any user code ran in the process, so its lockdown
/// report is trusted; but its engine description sets the worker's cgroup cap and how its death is
/// classified, so it is still held to the bounds every engine must keep.
/// </summary>
internal static class WorkerHandshake
{
    /// <summary>A ready frame carries the lockdown report (and, in a self-test, every probe's result).</summary>
    private const int ReadyFrameMaxBytes = 64 << 10;

    /// <returns>The worker's <c>ready</c>, checked against what <paramref name="configure"/> asked for.</returns>
    /// <exception cref="WorkerStartException">The worker died, timed out or could not lock itself down.</exception>
    /// <exception cref="ProtocolViolationException">The worker's first frame was not an acceptable <c>ready</c>.</exception>
    public static async Task<ReadyMessage> RunAsync(WorkerProcess worker, ConfigureMessage configure, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        try
        {
            await worker.SendAsync(configure).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // Gone before it read anything (the launcher or bubblewrap failed): its stderr says why.
            await worker.WaitForExitAsync().ConfigureAwait(false);
            throw new WorkerStartException($"the worker exited at start (exit code {worker.ExitCodeOrUnknown()}): {WorkerProcess.Tail(worker.Stderr)}");
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        await using (deadline.Token.Register(() => worker.Kill(WorkerKillReason.StartTimeout)).ConfigureAwait(false))
        {
            byte[]? frame = await worker.ReadFrameAsync(ReadyFrameMaxBytes).ConfigureAwait(false);
            if (frame is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await worker.WaitForExitAsync().ConfigureAwait(false);
                throw new WorkerStartException(worker.KillReason == WorkerKillReason.StartTimeout
                    ? $"the worker did not report ready within {timeout.TotalSeconds:F0} s"
                    : $"the worker exited before it was ready (exit code {worker.ExitCodeOrUnknown()}): {WorkerProcess.Tail(worker.Stderr)}");
            }
            if (FrameCodec.DecodeWorkerMessage(frame) is not ReadyMessage ready)
            {
                throw new ProtocolViolationException("the first frame was not 'ready'");
            }
            if (ready.Engine.Name != configure.Engine)
            {
                // The worker's text goes to the log: cut and without control characters, like its stderr.
                string named = WorkerProcess.Sanitize(ready.Engine.Name.Length <= 64 ? ready.Engine.Name : ready.Engine.Name[..64] + "…");
                throw new ProtocolViolationException($"the worker runs engine '{named}', not '{configure.Engine}'");
            }
            if (ready.Engine.Memory.Validate() is { } ruleProblem)
            {
                throw new ProtocolViolationException("the engine's memory rule is out of bounds: " + ruleProblem);
            }
            if (ready.Engine.OutOfMemoryMarkers.Length > 16 || ready.Engine.OutOfMemoryMarkers.Any(m => m.Length is < 8 or > 200))
            {
                throw new ProtocolViolationException("the engine's out-of-memory markers are out of bounds");
            }
            // A worker that was asked for seccomp and could not install it is not used.
            if (configure.Lockdown.Seccomp && !ready.Lockdown.Seccomp)
            {
                throw new WorkerStartException("the worker could not install its seccomp filter: " + (ready.Lockdown.Error ?? "no reason given"));
            }
            if (configure.Lockdown.Seccomp && !ready.Lockdown.RlimitsApplied)
            {
                throw new WorkerStartException("the worker could not set its resource limits");
            }
            return ready;
        }
    }
}
