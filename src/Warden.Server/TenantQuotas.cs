using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace Warden.Server;

/// <summary>
/// Per-key quotas, so that one tenant cannot starve the others: ASP.NET Core's rate limiter with, per
/// API key, a concurrency limit (running plus waiting executions, no queue: over it is 429 at once)
/// chained with a token bucket (executions per minute, refilled every second). Requests without a
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
                ? RateLimitPartition.GetTokenBucketLimiter(key.Name, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = key.MaxExecutionsPerMinute,
                    TokensPerPeriod = Math.Max(1, key.MaxExecutionsPerMinute / 60),
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
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
