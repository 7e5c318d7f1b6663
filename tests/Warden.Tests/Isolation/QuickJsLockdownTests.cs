namespace Warden.Tests.Isolation;

/// <summary>
/// The QuickJS worker's OS lockdown, attacked from inside (the lockdown self-test run in a QuickJS worker: raw
/// system calls after its filter) and checked from the host (/proc of a live QuickJS worker). Its filter is its
/// own (tools/seccomp/README.md): the runtime's calls without V8's, so no new executable mapping, no page both
/// writable and executable, and no open at all after lockdown — where the V8 worker's JIT needs the first two.
/// </summary>
[Collection("sandbox")]
public sealed class QuickJsLockdownTests(SandboxFixture fixture)
{
    private static readonly string[] ExecutableMemoryProbes = ["map executable memory", "make a page writable+executable"];

    [Fact]
    public async Task SelfTestInAQuickJsWorkerRefusesEveryForbiddenOperationAndNewExecutableMemory()
    {
        var report = await Sandbox.RunLockdownSelfTestAsync(new SandboxOptions { DefaultEngine = "quickjs" });

        Assert.Null(report.Error);
        Assert.True(report.SeccompInstalled);
        var allowed = report.Probes.Where(p => !p.Refused).Select(p => $"{p.Phase}/{p.Name}: {p.Detail}").ToList();
        Assert.True(allowed.Count == 0, "allowed: " + string.Join("; ", allowed));
        var afterSeccomp = report.Probes.Where(p => p.Phase == "seccomp").ToList();
        foreach (var name in new[] { "connect to the host's loopback", "execve /bin/sh", "fork", "vfork", "clone a process", "ptrace a process",
            "mount a tmpfs", "write a file", "unshare a user namespace", "bpf", "io_uring_setup", "userfaultfd", "memfd_create", "process_vm_readv" })
        {
            Assert.Contains(afterSeccomp, p => p.Name == name);
        }
        // Shellcode's first step, refused by the filter itself (EPERM), not by chance: both calls are allowed
        // for data (the worker maps its linear memories with them), and the V8 worker's filter allows both.
        foreach (var name in ExecutableMemoryProbes)
        {
            Assert.Equal("errno 1 (EPERM)", Assert.Single(afterSeccomp, p => p.Name == name).Detail);
        }
        // No open at all after lockdown, read-only included (before seccomp the namespaces already hide the
        // file: ENOENT; after it the filter refuses the call before any path is looked up).
        Assert.Contains(report.Probes, p => p is { Phase: "namespaces", Name: "read /etc/passwd", Detail: "errno 2 (ENOENT)" });
        Assert.Equal("errno 1 (EPERM)", Assert.Single(afterSeccomp, p => p.Name == "read /etc/passwd").Detail);
        Assert.Equal("errno 1 (EPERM)", Assert.Single(afterSeccomp, p => p.Name == "list /home").Detail);
        Assert.Equal(0, report.ConnectionsAccepted);
        // Threads stay allowed (the runtime needs them): the cgroup's task cap stops a flood.
        var flood = Assert.Single(report.Probes, p => p.Name == "start 1000 threads");
        Assert.Matches("^stopped after [0-9]{2,3} ", flood.Detail);
        // QuickJS still runs, in fresh VMs, in the worker that was attacked.
        Assert.Equal([OutcomeStatus.Ok, OutcomeStatus.Ok, OutcomeStatus.Ok], report.ScriptRuns);
        Assert.True(report.Passed);

        // The V8 worker's filter is wider by what its JIT and isolates need: it is not probed for executable
        // memory (its JIT makes code while scripts run) and allows one call more (read-only openat).
        var v8 = await Sandbox.RunLockdownSelfTestAsync(new SandboxOptions { DefaultEngine = "v8" });
        Assert.True(v8.Passed, v8.Error);
        Assert.DoesNotContain(v8.Probes, p => ExecutableMemoryProbes.Contains(p.Name));
        Assert.Equal("errno 2 (ENOENT)", Assert.Single(v8.Probes, p => p is { Phase: "seccomp", Name: "read /etc/passwd" }).Detail);
        Assert.Equal(v8.AllowedSyscalls - 1, report.AllowedSyscalls);
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task TheHostSeesAnUnprivilegedFilteredQuickJsWorkerWithoutV8()
    {
        await using var sandbox = new Sandbox(new SandboxOptions { MaxWorkers = 1, SpareWorkers = 0, DefaultEngine = "quickjs" });
        // The ways a QuickJS execution ends in a Wasmtime trap or limit, in the same locked worker: none of them
        // may need a call its filter refuses (that would kill the worker: internal_error, and a new worker).
        var outcomes = new List<(string Name, Outcome Outcome)>();
        foreach (var (name, code, limits) in new (string, string, ExecutionLimits?)[]
        {
            ("plain", "[crypto.randomUUID().length, new URL('https://a.example/b').pathname, new TextEncoder().encode('x').length]", null),
            ("native stack", "JSON.parse('['.repeat(1e5) + ']'.repeat(1e5))", null),
            ("epoch", "for (;;) {}", new ExecutionLimits(TimeoutMs: 200)),
            ("fuel", "for (;;) {}", new ExecutionLimits(TimeoutMs: 30_000, Fuel: 20_000_000)),
            ("after", "1 + 1", null),
        })
        {
            outcomes.Add((name, await sandbox.RunAsync(new Submission { Code = code, Limits = limits ?? ExecutionLimits.Default })));
        }
        Assert.Equal([OutcomeStatus.Ok, OutcomeStatus.ScriptError, OutcomeStatus.Timeout, OutcomeStatus.Timeout, OutcomeStatus.Ok],
            outcomes.Select(o => o.Outcome.Status));
        Assert.True(outcomes.Select(o => o.Outcome.WorkerPid).Distinct().Count() == 1,
            string.Join(", ", outcomes.Select(o => $"{o.Name}: {o.Outcome.WorkerPid} {o.Outcome.Error?.Message}")));
        int worker = WorkerProcessInspector.FindWorker(outcomes[^1].Outcome.WorkerPid);

        Assert.Equal("65534 65534 65534 65534", WorkerProcessInspector.Status(worker, "Uid"));
        Assert.Equal("0000000000000000", WorkerProcessInspector.Status(worker, "CapEff"));
        Assert.Equal("1", WorkerProcessInspector.Status(worker, "NoNewPrivs"));
        Assert.Equal("2", WorkerProcessInspector.Status(worker, "Seccomp")); // 2 = filter mode
        foreach (var kind in new[] { "user", "mnt", "pid", "net", "ipc", "uts" })
        {
            Assert.NotEqual(WorkerProcessInspector.Namespace(Environment.ProcessId, kind), WorkerProcessInspector.Namespace(worker, kind));
        }
        // It loads no V8: only Wasmtime's native library is mapped.
        var maps = File.ReadAllLines($"/proc/{worker}/maps");
        Assert.DoesNotContain(maps, l => l.Contains("ClearScriptV8", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(maps, l => l.Contains("libwasmtime", StringComparison.Ordinal));
        // And holds no page that is writable and executable at once (what its filter refuses to make).
        Assert.DoesNotContain(maps, l => l.Split(' ')[1].StartsWith("rwx", StringComparison.Ordinal));

        // The store's cap (the host retires a worker after a memory limit, so this one comes last).
        var capped = await sandbox.RunAsync(new Submission { Code = "new ArrayBuffer(2 ** 30); 1", Limits = new ExecutionLimits(MemoryMb: 32) });
        Assert.Equal(LimitKind.Heap, OutcomeAssert.Failed(OutcomeStatus.MemoryLimit, "MemoryLimitError", capped).Limit);
        await fixture.AssertHealthyAsync();
    }
}
