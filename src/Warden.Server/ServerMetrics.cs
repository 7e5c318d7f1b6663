using System.Diagnostics.Metrics;
using Prometheus;
using Warden.Diagnostics;

namespace Warden.Server;

/// <summary>
/// <c>/metrics</c>: the sandbox's own meter (<see cref="WardenTelemetry.MeterName"/>) published as Prometheus text by
/// prometheus-net's meter adapter, in a registry of this service's — the same numbers OTLP exports, from one source.
/// Only this service's sandbox is published (its meter's <see cref="Meter.Scope"/> is the sandbox). The adapter names
/// each series <c>{meter}_{instrument}</c> in lowercase with <c>.</c> as <c>_</c> (<c>warden.executions</c> becomes
/// <c>warden_warden_executions</c>), counters become gauges (no <c>_total</c>), and histograms get the buckets the
/// instrument advises; docs/telemetry.md lists every name.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();
    private readonly IDisposable _adapter;

    public ServerMetrics(Sandbox sandbox)
    {
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            MetricFactory = Metrics.WithCustomRegistry(Registry),
            InstrumentFilterPredicate = instrument => instrument.Meter.Name == WardenTelemetry.MeterName && ReferenceEquals(instrument.Meter.Scope, sandbox),
            // Counters are published as gauges the adapter adds to; a series that expires (the adapter's default: after
            // 5 minutes without a change) starts again from zero. The attributes are bounded, so nothing needs to expire:
            // the longest the adapter allows, one day (docs/telemetry.md says what that means for a quiet series).
            MetricsExpireAfter = TimeSpan.FromDays(1),
            ResolveHistogramBuckets = Buckets,
        });
    }

    private static double[] Buckets(Instrument instrument) => instrument switch
    {
        Histogram<double> { Advice.HistogramBucketBoundaries: { } bounds } => [.. bounds],
        Histogram<long> { Advice.HistogramBucketBoundaries: { } bounds } => [.. bounds.Select(b => (double)b)],
        _ => MeterAdapterOptions.DefaultHistogramBuckets,
    };

    public void Dispose() => _adapter.Dispose();
}
