using System.Text;
using System.Text.Json;
using Warden.Protocol;

namespace Warden.Hosting;

/// <summary>
/// The one place where what a worker said (its <c>result</c>) or how it ended (killed, died,
/// broke the protocol, never started) becomes an <see cref="Outcome"/>. SECURITY: a result is
/// attacker-controlled: its status and limit must be known words, its usage finite and non-negative,
/// a success must carry exactly one JSON value within the size limit, and error texts are cut to
/// their caps; anything else is a <see cref="ProtocolViolationException"/>.
/// </summary>
internal static class WorkerOutcomes
{
    /// <param name="r">The worker's result.</param>
    /// <param name="caps">The sandbox's limits.</param>
    /// <param name="console">The console entries the execution logged.</param>
    /// <param name="countsFuel">Whether the worker's engine counts fuel: only then may it report fuel used or the fuel limit.</param>
    /// <exception cref="ProtocolViolationException">The result breaks the contract.</exception>
    public static Outcome FromResult(ResultMessage r, SandboxLimits caps, List<ConsoleEntry> console, bool countsFuel)
    {
        if (!OutcomeCodes.TryParseStatus(r.Status, out var status) || status == OutcomeStatus.InvalidRequest)
        {
            throw new ProtocolViolationException($"unknown status");
        }
        var u = r.Usage;
        if (!double.IsFinite(u.WallMs) || !double.IsFinite(u.CpuMs) || u.WallMs < 0 || u.CpuMs < 0 || u.MemoryBytes < 0 || u.Fuel < 0)
        {
            throw new ProtocolViolationException("usage out of range");
        }
        if (u.Fuel is not null && !countsFuel)
        {
            throw new ProtocolViolationException("fuel reported by an engine that counts none");
        }
        var usage = new ResourceUsage(u.WallMs, u.CpuMs, u.MemoryBytes, u.Fuel);
        if (r.WarmContext < 0)
        {
            throw new ProtocolViolationException("warm context out of range");
        }
        if (status == OutcomeStatus.Ok)
        {
            if (r.Result is null || r.Error is not null)
            {
                throw new ProtocolViolationException("an ok result must carry a result and no error");
            }
            byte[] json = Encoding.UTF8.GetBytes(r.Result);
            if (json.Length > caps.MaxResultBytes && json.Length > 0)
            {
                // The worker checks the same bound; getting past it means the worker is not ours.
                throw new ProtocolViolationException("result larger than the limit");
            }
            if (!IsExactlyOneJsonValue(json))
            {
                throw new ProtocolViolationException("result is not exactly one JSON value");
            }
            return new Outcome { Status = status, ResultJson = r.Result, Console = console, Usage = usage, WarmContext = r.WarmContext };
        }
        if (r.Result is not null || r.Error is null)
        {
            throw new ProtocolViolationException("a failed result must carry an error and no result");
        }
        LimitKind? limit = null;
        if (r.Error.Limit is not null)
        {
            if (!OutcomeCodes.TryParseLimit(r.Error.Limit, out var parsed))
            {
                throw new ProtocolViolationException("unknown limit");
            }
            if (parsed == LimitKind.Fuel && !countsFuel)
            {
                throw new ProtocolViolationException("the fuel limit reported by an engine that counts none");
            }
            limit = parsed;
        }
        var error = new ExecutionError(
            Utf8Text.Truncate(r.Error.Name, caps.MaxErrorTextBytes),
            Utf8Text.Truncate(r.Error.Message, caps.MaxErrorTextBytes),
            Utf8Text.Truncate(r.Error.Stack, caps.MaxErrorTextBytes),
            limit);
        return new Outcome { Status = status, Error = error, Console = console, Usage = usage, WarmContext = r.WarmContext };
    }

    internal static bool IsExactlyOneJsonValue(byte[] json)
    {
        // Deep nesting is legal JSON that JSON.stringify can produce; the reader's depth tracking
        // is a bit stack, so a large MaxDepth costs nothing.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 1_000_000, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        try
        {
            if (!reader.Read())
            {
                return false;
            }
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The worker died, and <see cref="WorkerExitClassifier"/> said why.</summary>
    public static Outcome FromDeath(OutcomeStatus status, LimitKind? limit, string message, List<ConsoleEntry> console, ResourceUsage usage)
    {
        string name = status switch
        {
            OutcomeStatus.MemoryLimit => WireErrorNames.MemoryLimit,
            OutcomeStatus.Timeout => WireErrorNames.Timeout,
            OutcomeStatus.OutputLimit => WireErrorNames.OutputLimit,
            _ => WireErrorNames.Internal,
        };
        return Outcome.Failure(status, name, message, limit, console, usage);
    }

    /// <summary>The host killed the worker at its hard deadline, after the script started.</summary>
    public static Outcome HardDeadline(int timeoutMs, List<ConsoleEntry> console, ResourceUsage usage) =>
        Outcome.Failure(OutcomeStatus.Timeout, WireErrorNames.Timeout,
            LimitMessages.WallTimeKilled(timeoutMs),
            LimitKind.Wall, console, usage);

    public static Outcome NotStartedInTime(List<ConsoleEntry> console, ResourceUsage usage) =>
        Outcome.Failure(OutcomeStatus.InternalError, WireErrorNames.Internal,
            "The worker did not start the execution in time and was killed", null, console, usage);

    public static Outcome DisposedDuringExecution(List<ConsoleEntry> console, ResourceUsage usage) =>
        Outcome.Failure(OutcomeStatus.InternalError, WireErrorNames.Internal,
            "The sandbox was disposed while the execution ran", null, console, usage);

    public static Outcome ProtocolBroken(List<ConsoleEntry> console, double wallMs) =>
        Outcome.Failure(OutcomeStatus.InternalError, WireErrorNames.Internal,
            "The worker broke the protocol and was stopped", console: console, usage: new ResourceUsage(wallMs, 0, 0));

    public static Outcome MemoryCapNotSet(List<ConsoleEntry> console) =>
        Outcome.Failure(OutcomeStatus.InternalError, WireErrorNames.Internal,
            "The worker's memory cap could not be set; the worker was replaced", console: console, usage: new ResourceUsage(0, 0, 0));

    public static Outcome NoWorker(string reason) =>
        Outcome.Failure(OutcomeStatus.InternalError, WireErrorNames.Internal, "No worker could be started: " + reason);
}
