using System.Text.Json;
using System.Text.Json.Serialization;

namespace Warden.Bench.Runner;

/// <summary>One runner's single JSON line (bench/peers/PROTOCOL.md).</summary>
internal sealed record RunnerResult
{
    public required string System { get; init; }
    public required string Workload { get; init; }
    public bool Supported { get; init; } = true;
    public string? Note { get; init; }
    public List<double> SamplesMs { get; init; } = [];
    public int Count { get; init; }
    public double ElapsedMs { get; init; }
    public Dictionary<string, JsonElement> Results { get; init; } = [];

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static RunnerResult Unsupported(string system, string workload, string note) =>
        new() { System = system, Workload = workload, Supported = false, Note = note };

    public static Dictionary<string, JsonElement> Values(object values) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(JsonSerializer.Serialize(values, Json), Json)!;
}
