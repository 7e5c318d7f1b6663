using ScottPlot;

namespace Warden.Bench.Compare;

/// <summary>
/// The report's chart: for each timed workload, every system's median latency relative to Warden's
/// (library) on the same workload, as bars on a log scale (1 = as fast as Warden; 10 = ten times
/// Warden's time). The -warm rows compare with Warden in its warm mode (IsolationUnit.Context).
/// </summary>
internal static class RatioChart
{
    private static readonly string[] Workloads = ["tiny", "tiny-warm", "fib", "fib-warm", "json", "json-warm", "churn", "churn-warm", "mix"];

    public static void Write(CompareReport report, string path)
    {
        var plot = new Plot();
        var systems = ComparePlan.AllSystems;
        var palette = new ScottPlot.Palettes.Category10();
        var ticks = new List<Tick>();
        for (int w = 0; w < Workloads.Length; w++)
        {
            for (int s = 0; s < systems.Length; s++)
            {
                double ratio = report.Ratio(systems[s], Workloads[w]);
                if (double.IsNaN(ratio) || ratio <= 0)
                {
                    continue;
                }
                double position = w * (systems.Length + 1) + s;
                var bar = plot.Add.Bar(position, Math.Log10(ratio));
                bar.Color = palette.GetColor(s);
            }
            ticks.Add(new Tick(w * (systems.Length + 1) + (systems.Length - 1) / 2.0, Workloads[w]));
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        var yTicks = new[] { 0.001, 0.01, 0.1, 1, 10, 100, 1000 }.Select(v => new Tick(Math.Log10(v), v + "×")).ToArray();
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(yTicks);
        plot.Axes.SetLimitsY(-3.2, 3);
        plot.Add.HorizontalLine(0, color: Colors.Black);
        for (int s = 0; s < systems.Length; s++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = systems[s], FillColor = palette.GetColor(s) });
        }
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title("Median latency relative to Warden on the same workload (-warm: Warden's warm mode; log scale; lower is faster)");
        plot.YLabel("× Warden's median");
        plot.SavePng(path, 1600, 600);
    }
}
