using System.Diagnostics;
using System.Text.RegularExpressions;
using Warden;
using Warden.SeccompLab;
using Warden.Worker.Lockdown;

// The allowlist-derivation procedure (tools/seccomp/README.md):
//   trace FILE       run the workload in a worker with no filter under strace -f; print every
//                    system call made after the lockdown point (prctl(PR_SET_NO_NEW_PRIVS))
//   remove-one [ROUNDS [CALL...]]  for each allowed call (or the ones named): run the workload with that call refused (EPERM)
//                    and report which calls it can live without
//   soak N [C]       run the workload N times in kill mode, in C concurrent loops; any SIGSYS fails it
//   --engine NAME    (anywhere) drive workers of that engine with its own workload: v8 (default) or quickjs
string engine = Warden.Protocol.EngineNames.V8;
int engineOption = Array.IndexOf(args, "--engine");
if (engineOption >= 0)
{
    if (engineOption + 1 >= args.Length)
    {
        Console.Error.WriteLine("--engine needs a name: v8 or quickjs");
        return 64;
    }
    engine = args[engineOption + 1];
    args = args.Where((_, i) => i != engineOption && i != engineOption + 1).ToArray();
}
var workload = Workload.For(engine);
// What that engine's worker is granted beyond the runtime's calls: the engine's own declaration.
var syscalls = Warden.Worker.Engines.EngineRegistry.Create(engine, new Warden.Worker.Engines.EngineFeatures(false, false))!.SyscallsAfterLockdown;
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Warden.SeccompLab [--engine v8|quickjs] trace FILE | remove-one [ROUNDS [CALL...]] | soak N [C] | dump | self-test [TRACE]");
    return 64;
}
return args[0] switch
{
    "trace" => await Trace(args.Length > 1 ? args[1] : "/tmp/warden-seccomp.trace"),
    "remove-one" => await RemoveOne(args.Length > 1 ? int.Parse(args[1]) : 2, args.Skip(2).ToHashSet()),
    "soak" => await Soak(args.Length > 1 ? int.Parse(args[1]) : 100, args.Length > 2 ? int.Parse(args[2]) : 1),
    "dump" => Dump(syscalls),
    "cgroup-cost" => CgroupCost(),
    "clone-test" => CloneTest(),
    "self-test" => await SelfTest(args.Length > 1 ? args[1] : null),
    _ => 64,
};

SandboxOptions Options(string seccompDefault, string[]? omit = null, string[]? prefix = null) => new()
{
    MaxWorkers = 1,
    SpareWorkers = 0,
    DefaultEngine = engine,
    // V8's WebAssembly (a JavaScript feature); the QuickJS engine is WebAssembly itself and offers none.
    EnableWebAssembly = engine == Warden.Protocol.EngineNames.V8,
    SeccompDefault = seccompDefault,
    SeccompOmit = omit,
    WorkerCommandPrefix = prefix,
};

async Task<List<string>> RunWorkload(Sandbox sandbox, int rounds)
{
    var failures = new List<string>();
    for (int round = 0; round < rounds; round++)
    {
        foreach (var (name, submission, expected) in workload)
        {
            var outcome = await sandbox.RunAsync(submission);
            if (outcome.Status != expected)
            {
                failures.Add($"{name}: {outcome.Status} ({outcome.Error?.Message})");
            }
        }
    }
    return failures;
}

async Task<int> Trace(string file)
{
    string strace = new[] { "/usr/bin/strace", "/bin/strace" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("strace is needed: apt-get install -y strace");
    File.Delete(file);
    await using (var sandbox = new Sandbox(Options("trace", prefix: [strace, "-f", "-qq", "--pidns-translation", "-A", "-o", file])))
    {
        var failures = await RunWorkload(sandbox, 3);
        failures.ForEach(f => Console.Error.WriteLine("workload failure: " + f));
    }
    // Lines are "TID call(...) = result". Threads are mapped to their process through the clone
    // lines that made them; only processes that passed the lockdown marker count, from that line on.
    var calls = new SortedDictionary<string, int>(StringComparer.Ordinal);
    var processOf = new Dictionary<int, int>();
    var lockedProcesses = new HashSet<int>();
    var executable = new SortedDictionary<string, int>(StringComparer.Ordinal);
    var line_ = new Regex(@"^(\d+)\s+(?:<\.\.\. )?([a-z0-9_]+)(\(| resumed>)", RegexOptions.CultureInvariant);
    var result = new Regex(@"= (?:\d+ /\* )?(\d+)(?: in strace.s PID NS \*/)?$", RegexOptions.CultureInvariant);
    // First pass: which process each thread belongs to (a new thread's first calls can be printed
    // before the clone that made it returns).
    var cloneFlags = new Dictionary<int, bool>();
    foreach (var line in File.ReadLines(file))
    {
        var m = line_.Match(line);
        if (m.Success && m.Groups[2].Value is "clone" or "clone3")
        {
            int tid = int.Parse(m.Groups[1].Value);
            if (line.Contains("unfinished", StringComparison.Ordinal) || m.Groups[3].Value == "(")
            {
                cloneFlags[tid] = line.Contains("CLONE_THREAD", StringComparison.Ordinal);
            }
            if (result.Match(line) is { Success: true } r)
            {
                int child = int.Parse(r.Groups[1].Value);
                processOf[child] = cloneFlags.GetValueOrDefault(tid) ? processOf.GetValueOrDefault(tid, tid) : child;
            }
        }
    }
    foreach (var line in File.ReadLines(file))
    {
        var m = line_.Match(line);
        if (!m.Success)
        {
            continue;
        }
        int tid = int.Parse(m.Groups[1].Value);
        int process = processOf.GetValueOrDefault(tid, tid);
        string name = m.Groups[2].Value;
        if (line.Contains(SeccompFilter.TraceMarkerPath, StringComparison.Ordinal))
        {
            lockedProcesses.Add(process);
            continue;
        }
        if (lockedProcesses.Contains(process) && m.Groups[3].Value == "(")
        {
            calls[name] = calls.GetValueOrDefault(name) + 1;
            // New executable memory after lockdown: what a filter refusing PROT_EXEC would break.
            if (name is "mmap" or "mprotect" or "pkey_mprotect" && line.Contains("PROT_EXEC", StringComparison.Ordinal))
            {
                string shape = Regex.Replace(line[(m.Groups[1].Length + 1)..], @"0x[0-9a-f]+|\b\d+\b", "N");
                executable[shape] = executable.GetValueOrDefault(shape) + 1;
            }
        }
    }
    bool locked = lockedProcesses.Count > 0;
    var handled = SyscallPolicy.Rules(0, syscalls).Where(r => r.Errno is not null).Select(r => r.Name).ToHashSet();
    var allowed = SyscallPolicy.Rules(0, syscalls).Where(r => r.Errno is null).Select(r => r.Name).ToHashSet();
    Console.WriteLine($"{calls.Count} distinct system calls after lockdown in {lockedProcesses.Count} worker(s):");
    foreach (var (name, count) in calls)
    {
        Console.WriteLine($"  {name,-24} {count,8}  {(allowed.Contains(name) ? "allowed" : handled.Contains(name) ? "refused by rule" : "NOT IN POLICY")}");
    }
    Console.WriteLine($"{executable.Values.Sum()} mmap/mprotect calls with PROT_EXEC after lockdown{(executable.Count > 0 ? ":" : "")}");
    foreach (var (shape, count) in executable)
    {
        Console.WriteLine($"  {count,6} x {shape}");
    }
    return locked ? 0 : 1;
}

async Task<int> RemoveOne(int rounds, HashSet<string> only)
{
    var names = SyscallPolicy.Rules(0, syscalls).Where(r => r.Errno is null).Select(r => r.Name).Distinct()
        .Where(n => only.Count == 0 || only.Contains(n)).ToList();
    foreach (var name in names)
    {
        var clock = Stopwatch.StartNew();
        List<string> failures;
        try
        {
            await using var sandbox = new Sandbox(Options("errno", omit: [name]));
            failures = await RunWorkload(sandbox, rounds);
        }
        catch (Exception e)
        {
            failures = [e.GetType().Name + ": " + e.Message];
        }
        Console.WriteLine($"{name,-24} {(failures.Count == 0 ? "NOT NEEDED by the workload" : "needed")}  ({clock.Elapsed.TotalSeconds:F0} s){(failures.Count > 0 ? "  e.g. " + failures[0] : "")}");
    }
    return 0;
}

static int CloneTest()
{
    int allowed = SeccompFilter.Install(SeccompDefault.Errno, new HashSet<string>(), Environment.ProcessId, EngineSyscalls.ExecutableMemory | EngineSyscalls.ReadOnlyOpens);
    long rc = RawSyscall.Invoke(56, 17, 0, 0, 0, 0, 0);
    if (rc == 0)
    {
        RawSyscall.Exit(0);
    }
    Console.WriteLine($"{allowed} allowed; clone(SIGCHLD) -> {rc} errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    return 0;
}

// What the host adds to every execution when the cgroup layer is on: read usage, write the cap,
// read the OOM counter, read CPU usage twice.
static int CgroupCost()
{
    var driver = Warden.Hosting.Isolation.CgroupDriver.Shared.Driver ?? throw new InvalidOperationException("no cgroup layer here");
    using var group = driver.CreateWorkerGroup(128, 1, 1L << 30);
    var clock = Stopwatch.StartNew();
    const int n = 2000;
    for (int i = 0; i < n; i++)
    {
        group.SetMemoryLimit(Warden.Protocol.MemoryBudgets.V8Rule.CgroupCapBytes(group.MemoryUsageBytes(), 128 + (i & 1)));
        _ = group.OomKills();
        _ = group.CpuMs();
        _ = group.CpuMs();
    }
    Console.WriteLine($"cgroup bookkeeping per execution: {clock.Elapsed.TotalMilliseconds * 1000 / n:F1} µs");
    return 0;
}

static int Dump(EngineSyscalls syscalls)
{
    var (context, allowed) = SeccompFilter.Build(SeccompDefault.Kill, new HashSet<string>(), 2, syscalls);
    Console.Out.Flush();
    LibSeccomp.ExportPseudoCode(context, 1);
    LibSeccomp.Release(context);
    Console.Error.WriteLine($"{allowed} allowed system calls");
    return 0;
}

async Task<int> SelfTest(string? traceFile)
{
    var options = Options("kill", prefix: traceFile is null ? null : ["/usr/bin/strace", "-f", "-qq", "--pidns-translation", "-o", traceFile]);
    var report = await Sandbox.RunLockdownSelfTestAsync(options);
    Console.WriteLine(report.Error ?? "");
    foreach (var p in report.Probes)
    {
        Console.WriteLine($"{(p.Refused ? "refused" : "ALLOWED"),-8} {p.Phase,-10} {p.Name,-32} {p.Detail}");
    }
    return report.Passed ? 0 : 1;
}

async Task<int> Soak(int rounds, int concurrency)
{
    // Concurrent loops on different keys: more workers, a busier thread pool, more GC pressure.
    var options = Options("kill");
    options.MaxWorkers = Math.Max(1, concurrency);
    await using var sandbox = new Sandbox(options);
    var clock = Stopwatch.StartNew();
    var loops = Enumerable.Range(0, Math.Max(1, concurrency)).Select(i => Task.Run(async () =>
    {
        var failures = new List<string>();
        for (int round = 0; round < rounds; round++)
        {
            foreach (var (name, submission, expected) in workload)
            {
                var outcome = await sandbox.RunAsync(submission with { IsolationKey = "soak-" + i });
                if (outcome.Status != expected)
                {
                    failures.Add($"{name}: {outcome.Status} ({outcome.Error?.Message})");
                }
            }
        }
        return failures;
    })).ToArray();
    var all = (await Task.WhenAll(loops)).SelectMany(f => f).ToList();
    Console.WriteLine($"{rounds * workload.Length * loops.Length} executions ({loops.Length} concurrent) in {clock.Elapsed.TotalSeconds:F0} s; {all.Count} unexpected outcomes");
    foreach (var group in all.GroupBy(f => f).OrderByDescending(g => g.Count()))
    {
        Console.WriteLine($"  {group.Count(),5} x {group.Key}");
    }
    return all.Count == 0 ? 0 : 1;
}

internal static partial class RawSyscall
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Invoke(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "_exit")]
    public static partial void Exit(int status);
}
