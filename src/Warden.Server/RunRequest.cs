using System.Text.Json;
using System.Text.Json.Serialization;

namespace Warden.Server;

/// <summary>The body of <c>POST /v1/run</c>, as design.md's contract gives it.</summary>
internal sealed record RunRequest(
    [property: JsonRequired] string Code,
    JsonElement? Input,
    bool? Module,
    string? Engine,
    string? IsolationKey,
    RunLimits? Limits,
    Dictionary<string, string>? Modules,
    string[]? FetchOrigins = null,
    string[]? HostFunctions = null);

/// <summary><c>limits</c>: <c>fuel</c> is a whole number (quickjs only; the library checks its range and engine).</summary>
internal sealed record RunLimits(int? TimeoutMs, int? CpuMs, int? MemoryMb, long? Fuel);

// Strict: unknown or repeated members, comments, trailing commas and quoted numbers are errors that
// name the field. Depth: room for an input as deep as the library accepts (1000) inside the request.
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowTrailingCommas = false,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict,
    AllowDuplicateProperties = false,
    MaxDepth = 1024)]
[JsonSerializable(typeof(RunRequest))]
internal sealed partial class RunRequestJsonContext : JsonSerializerContext;
