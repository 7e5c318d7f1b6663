using System.Text.Json;
using Warden.Bench.Runner;

namespace Warden.Bench.Compare;

/// <summary>
/// One (system, workload) cell of the report: the runner results of every repetition, reduced to a
/// median with min and max. With several repetitions those are across the repetitions' own medians;
/// with one (quick mode), across that run's executions.
/// </summary>
internal sealed record Figure(string System, string Workload, List<RunnerResult> Runs, string? Failure)
{
    public bool Supported => Failure is null && Runs.Count > 0 && Runs.All(r => r.Supported && r.SamplesMs.Count > 0);

    public string? Note => Failure ?? Runs.Select(r => r.Note).FirstOrDefault(n => n is not null);

    public (double Median, double Min, double Max) Latency => Spread(r => Percentile(r.SamplesMs, 0.5), sampleRange: true);

    public (double Median, double Min, double Max) P99 => Spread(r => Percentile(r.SamplesMs, 0.99), sampleRange: false);

    public (double Median, double Min, double Max) PerSecond => Spread(r => r.ElapsedMs > 0 ? r.Count / (r.ElapsedMs / 1000) : 0, sampleRange: false);

    private (double, double, double) Spread(Func<RunnerResult, double> statistic, bool sampleRange)
    {
        if (!Supported)
        {
            return (double.NaN, double.NaN, double.NaN);
        }
        if (Runs.Count == 1)
        {
            var samples = Runs[0].SamplesMs;
            double value = statistic(Runs[0]);
            return sampleRange ? (value, samples.Min(), samples.Max()) : (value, value, value);
        }
        var values = Runs.Select(statistic).Order().ToList();
        return (values[values.Count / 2], values[0], values[^1]);
    }

    public static double Percentile(List<double> samples, double q)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }
        var sorted = samples.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Floor(q * sorted.Count))];
    }

    /// <summary>A workload-specific result of the last repetition ("stopped", "peakRssMb", ...), as text.</summary>
    public string Result(string name) =>
        Runs.LastOrDefault(r => r.Results.ContainsKey(name)) is { } run ? run.Results[name].ToString() : "";

    public bool AllTrue(string name) => Runs.Count > 0 && Runs.All(r => r.Results.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.True);
}
