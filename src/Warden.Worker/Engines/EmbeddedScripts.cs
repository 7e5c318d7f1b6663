using System.Reflection;

namespace Warden.Worker.Engines;

/// <summary>
/// Warden's own scripts as the worker embeds them (bundled at build time: Warden.Worker.csproj), for every
/// engine: the preludes, V8's built-in guards and the web APIs' bundle. Only ever our own sources.
/// </summary>
internal static class EmbeddedScripts
{
    /// <summary><c>navigator.userAgent</c>: names Warden and its version, nothing about the machine or the engine.</summary>
    public static readonly string UserAgent = "Warden/" + (typeof(EmbeddedScripts).Assembly.GetName().Version?.ToString(3) ?? "1.0.0");

    public static string Read(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded resource {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
