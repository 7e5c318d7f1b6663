using Microsoft.AspNetCore.Http;

namespace Warden.Server;

/// <summary>RFC 9457 problem details: every 4xx/5xx body is one of these, never a stack trace.</summary>
internal static class Problems
{
    public static IResult Create(int status, string title, string detail, string? field = null, int? retryAfterSeconds = null)
    {
        var extensions = new Dictionary<string, object?>();
        if (field is not null)
        {
            extensions["field"] = field;
        }
        var result = Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);
        return retryAfterSeconds is int seconds ? new WithRetryAfter(result, seconds) : result;
    }

    private sealed class WithRetryAfter(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
