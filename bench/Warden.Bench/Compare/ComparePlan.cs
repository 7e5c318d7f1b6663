namespace Warden.Bench.Compare;

/// <summary>What one comparison run measures: which systems run which workloads, for how long.</summary>
internal sealed record ComparePlan(string Mode, int Repetitions, double TinySeconds, int FibReps, int JsonReps, int KillReps, int BombReps,
    int ChurnReps, double MixSeconds, int MixConcurrency)
{
    /// <summary>A few minutes on this machine: one process per figure, short runs.</summary>
    public static ComparePlan Quick { get; } = new("quick", 1, 2, 2, 2, 3, 1, 1, 3, 4);

    /// <summary>Three processes per figure (median, min, max across them), longer runs.</summary>
    public static ComparePlan Full { get; } = new("full", 3, 5, 5, 5, 5, 3, 2, 8, 4);

    public static readonly string[] WardenSystems = ["warden-engine", "warden", "warden-quickjs", "warden-http"];
    public static readonly string[] NodeSystems = ["isolated-vm", "node-vm", "quickjs", "deno"];
    public static readonly string[] AllSystems = [.. WardenSystems, .. NodeSystems, "jint"];

    /// <summary>The runner arguments for one workload under this plan (a -warm variant: its cold workload's).</summary>
    public string[] Arguments(string workload) => Runner.Workloads.ColdOf(workload) switch
    {
        "tiny" => ["--seconds", F(TinySeconds)],
        "fib" => ["--reps", I(FibReps)],
        "json" => ["--reps", I(JsonReps)],
        "kill" => ["--reps", I(KillReps)],
        "heap-bomb" or "buffer-bomb" => ["--reps", I(BombReps)],
        "churn" => ["--reps", I(ChurnReps)],
        "mix" => ["--seconds", F(MixSeconds), "--concurrency", I(MixConcurrency)],
        _ => [],
    };

    private static string F(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
    private static string I(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
