using Microsoft.Extensions.Logging;

namespace Warden.Server;

/// <summary>The service's log lines. Script source and input are never logged.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Execution ended {Status} in {WallMs:F1} ms ({CpuMs:F1} ms CPU)")]
    public static partial void Execution(ILogger logger, string status, double wallMs, double cpuMs);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Ready: a worker has started; {Isolation}")]
    public static partial void Ready(ILogger logger, string isolation);

    [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Could not warm the workers: {Reason}")]
    public static partial void WarmUpFailed(ILogger logger, string reason);

    /// <summary>A webhook call failed; the script saw only <paramref name="reason"/>, the detail (the inner exception) stays here.</summary>
    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Webhook {Name} failed: {Reason}")]
    public static partial void WebhookFailed(ILogger logger, string name, string reason, Exception? exception);
}
