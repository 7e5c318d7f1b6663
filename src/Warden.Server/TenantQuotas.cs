using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace Warden.Server;

/// <summary>
/// Per-key quotas, so that one tenant cannot starve the others: ASP.NET Core's rate limiter with, per
/// API key, a concurrency limit (running plus waiting executions, no queue: over it is 429 at once)
/// chained with a sliding window (executions per minute). Requests without a
/// key (none configured, or the probes) are not limited here; the sandbox's global queue still is.
/// </summary>
internal static class TenantQuotas
{
    public const string KeyItem = "warden.apiKey";

    public static void Configure(RateLimiterOptions options, int retryAfterSeconds)
    {
        options.GlobalLimiter = PartitionedRateLimiter.CreateChained(
            PartitionedRateLimiter.Create<HttpContext, string>(context => context.Items[KeyItem] is ApiKeyOptions key
                ? RateLimitPartition.GetConcurrencyLimiter(key.Name, _ => new ConcurrencyLimiterOptions
                {
                    PermitLimit = key.MaxConcurrentExecutions,
                    QueueLimit = 0,
                })
                : RateLimitPartition.GetNoLimiter("")),
            PartitionedRateLimiter.Create<HttpContext, string>(context => context.Items[KeyItem] is ApiKeyOptions key
                // A sliding window: at most N in any minute (to a 10 s segment). A token bucket refilled
                // every second could only express multiples of 60 a minute (5/min let 20 through in 15 s).
                ? RateLimitPartition.GetSlidingWindowLimiter(key.Name, _ => new SlidingWindowRateLimiterOptions
                {
                    PermitLimit = key.MaxExecutionsPerMinute,
                    Window = TimeSpan.FromMinutes(1),
                    SegmentsPerWindow = 6,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                })
                : RateLimitPartition.GetNoLimiter("")));
        options.OnRejected = (context, _) =>
        {
            int seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
                ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : retryAfterSeconds;
            return new ValueTask(Problems.Create(StatusCodes.Status429TooManyRequests, "Quota exceeded",
                "This API key has too many executions running or started too many this minute; retry later.",
                retryAfterSeconds: seconds).ExecuteAsync(context.HttpContext));
        };
    }
}
