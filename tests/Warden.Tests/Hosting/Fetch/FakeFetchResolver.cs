using System.Collections.Concurrent;
using System.Net;
using Warden.Hosting.Fetch;

namespace Warden.Tests.Hosting.Fetch;

/// <summary>A resolver that answers from a script of answers (the last one repeats) and counts its calls.</summary>
internal sealed class FakeFetchResolver(params IPAddress[][] answers) : IFetchResolver
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public ConcurrentQueue<string> Hosts { get; } = new();

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        Hosts.Enqueue(host);
        int call = Interlocked.Increment(ref _calls) - 1;
        return Task.FromResult(answers[Math.Min(call, answers.Length - 1)]);
    }
}
