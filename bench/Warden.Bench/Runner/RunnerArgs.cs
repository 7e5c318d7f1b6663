using System.Globalization;

namespace Warden.Bench.Runner;

/// <summary><c>runner SYSTEM WORKLOAD [--seconds S] [--reps R] [--concurrency C]</c></summary>
internal sealed record RunnerArgs(string System, string Workload, double Seconds, int Reps, int Concurrency)
{
    public static RunnerArgs Parse(string[] args)
    {
        if (args.Length < 2)
        {
            throw new ArgumentException("usage: runner SYSTEM WORKLOAD [--seconds S] [--reps R] [--concurrency C]");
        }
        double seconds = 5;
        int reps = 5, concurrency = 0;
        for (int i = 2; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--reps": reps = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--concurrency": concurrency = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException("unknown option " + args[i]);
            }
        }
        return new RunnerArgs(args[0], args[1], seconds, reps, concurrency);
    }
}
