using Warden.Bench;
using Warden.Bench.Compare;
using Warden.Bench.Runner;

// Warden.Bench compare [--quick|--full]     Warden and its peers side by side (bench/run.sh)
// Warden.Bench runner SYSTEM WORKLOAD ...   one of Warden's layers on one workload (PROTOCOL.md)
// Warden.Bench throughput [seconds] [required|none] [worker-cpu-cores]   tiny-script throughput, library only
// Warden.Bench flood [memory|builtins|cpu|all] [seconds] [timeout-ms] [in-flight]   what one key's hostile one-liners cost another key
// Warden.Bench fetch URL N v8|quickjs|dotnet   what one fetch costs a script (bench/fetch/run.sh)
switch (args.FirstOrDefault())
{
    case "runner":
        // stdout carries exactly one JSON line: everything else anything writes goes to stderr.
        var stdout = Console.Out;
        Console.SetOut(Console.Error);
        return await RunnerCommand.RunAsync(args[1..], stdout);
    case "throughput":
        await ThroughputCommand.RunAsync(args[1..]);
        return 0;
    case "flood":
        await FloodCommand.RunAsync(args[1..]);
        return 0;
    case "fetch":
        await FetchCommand.RunAsync(args[1..]);
        return 0;
    case "compare":
        return await CompareCommand.RunAsync(args[1..]);
    default:
        Console.Error.WriteLine("usage: Warden.Bench compare [--quick|--full] | runner SYSTEM WORKLOAD [...] | throughput [...] | flood [...] | fetch URL N ENGINE");
        return 64;
}
