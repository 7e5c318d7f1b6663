namespace Warden.Worker.Engines;

/// <summary>
/// The warm-up submissions of an engine that runs JavaScript (<see cref="IEngine.WarmUpSubmissions"/>): every way
/// an execution runs and ends, so that each code path has run before the lockdown.
/// </summary>
internal static class JavaScriptWarmUp
{
    public static IReadOnlyList<(string Code, bool Module)> Submissions { get; } =
    [
        ("console.log('warm', { a: [1, 'x'] }); new Promise(r => setTimeout(() => r({ input, n: JSON.parse('[1]') }), 0))", false),
        ("export default async function (i) { await null; return [i]; }", true),
        ("let broken = ;", false),
        ("throw new TypeError('warm')", false),
        // The web APIs, and the CSPRNG behind crypto: .NET opens its random source on first use,
        // which must happen before the seccomp filter is installed.
        ("[crypto.getRandomValues(new Uint8Array(8)).length, crypto.randomUUID(), new URL('https://b\u00fccher.example/a?b=1').href, "
            + "new TextDecoder().decode(new TextEncoder().encode('\u20ac')), structuredClone({ a: [1] }), btoa(atob('aGk=')), "
            + "new Blob(['x']).size, AbortSignal.abort().aborted, performance.now() >= 0]", false),
    ];
}
