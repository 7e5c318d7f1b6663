using System.Diagnostics;
using Warden.Hosting.Isolation;

namespace Warden.Tests.Isolation;

/// <summary>
/// A root host whose worker and .NET runtime sit in a 0700 directory (a clone in /root, a NuGet cache in a
/// home): uid 65534 cannot read them, so they are staged into a root-owned copy; the copy must not be a way
/// in — a changed copy is found and never run.
/// </summary>
[Collection("sandbox")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WorkerStagingTests(SandboxFixture fx) : IDisposable
{
    // Under /var/lib like the real root (never /tmp: the chain check refuses world-writable parents).
    private readonly string _stagingRoot = Path.Combine("/var/lib/warden", "test-staging-" + Guid.NewGuid().ToString("n"));
    private readonly string _private = Directory.CreateTempSubdirectory("warden-0700-").FullName;

    public void Dispose()
    {
        Directory.Delete(_private, recursive: true);
        if (Directory.Exists(_stagingRoot))
        {
            Directory.Delete(_stagingRoot, recursive: true);
        }
    }

    /// <summary>The built worker and the runtime running this test, copied into a 0700 directory.</summary>
    private (string Worker, string Dotnet) CopyWorkerAndRuntimeIntoPrivateDirectory()
    {
        Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode(_private));
        string source = AppContext.BaseDirectory;
        string worker = Path.Combine(source, "Warden.Worker.dll");
        var files = WorkerFiles.Resolve(worker);
        Assert.NotNull(files);
        string workerCopy = Path.Combine(_private, "app");
        foreach (var f in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(workerCopy, f))!);
            File.Copy(Path.Combine(source, f), Path.Combine(workerCopy, f));
        }
        // Also what a real output directory holds beside the worker: staging must leave it behind.
        File.WriteAllText(Path.Combine(workerCopy, "appsettings.json"), "{\"secret\":\"s3cr3t\"}");
        string host = new FileInfo(Environment.ProcessPath!).ResolveLinkTarget(true)?.FullName ?? Environment.ProcessPath!;
        Assert.Equal("dotnet", Path.GetFileName(host));
        string dotnetRoot = Path.GetDirectoryName(host)!;
        string dotnetCopy = Path.Combine(_private, "dotnet");
        Directory.CreateDirectory(dotnetCopy);
        File.Copy(host, Path.Combine(dotnetCopy, "dotnet"));
        foreach (var part in BubblewrapCommand.RuntimeParts)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(dotnetRoot, part), "*", SearchOption.AllDirectories))
            {
                string target = Path.Combine(dotnetCopy, Path.GetRelativePath(dotnetRoot, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }
        return (Path.Combine(workerCopy, "Warden.Worker.dll"), Path.Combine(dotnetCopy, "dotnet"));
    }

    private SandboxOptions Options(string worker, string dotnet) => new()
    {
        WorkerAssemblyPath = worker,
        DotnetHostPath = dotnet,
        WorkerStagingRoot = _stagingRoot,
        OsIsolation = OsIsolationMode.Required,
        MaxWorkers = 1,
        SpareWorkers = 0,
        // A new worker for every execution: each start re-checks the copy.
        MaxExecutionsPerWorker = 1,
    };

    [Fact]
    public async Task AWorkerAndRuntimeIn0700DirectoriesRunWithEveryLayerFromAVerifiedCopy()
    {
        Assert.True(Environment.IsPrivilegedProcess, "this attack needs a root host (workers drop to uid 65534)");
        var (worker, dotnet) = CopyWorkerAndRuntimeIntoPrivateDirectory();

        var clock = Stopwatch.StartNew();
        await using (var sandbox = new Sandbox(Options(worker, dotnet)))
        {
            var firstConstruction = clock.Elapsed;
            clock.Restart();
            var outcome = await sandbox.RunAsync(new Submission { Code = "[input.n * 2, typeof require]", InputJson = "{\"n\":21}" });
            OutcomeAssert.Ok("[42,\"undefined\"]", outcome);
            var firstRun = clock.Elapsed;
            // The worker cannot see what was beside it in the private directory, nor the private directory itself.
            clock.Restart();
            OutcomeAssert.Ok("2", await sandbox.RunAsync(new Submission { Code = "1 + 1" }));
            var secondRun = clock.Elapsed;
            Console.WriteLine($"staging: first construction {firstConstruction.TotalMilliseconds:F0} ms, first run {firstRun.TotalMilliseconds:F0} ms, next run (new worker) {secondRun.TotalMilliseconds:F0} ms");
            Assert.True(firstConstruction < TimeSpan.FromSeconds(30), $"staging took {firstConstruction}");
        }

        // One copy, named by its content hash, root's and readable by everyone, without the application's files.
        var copies = Directory.GetDirectories(_stagingRoot);
        var copy = Assert.Single(copies);
        Assert.Matches("^[0-9a-f]{64}$", Path.GetFileName(copy));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(copy));
        Assert.True(File.Exists(Path.Combine(copy, "worker", "Warden.Worker.dll")));
        Assert.True(File.Exists(Path.Combine(copy, "dotnet", "dotnet")));
        Assert.False(File.Exists(Path.Combine(copy, "worker", "appsettings.json")));
        Assert.Empty(Directory.GetDirectories(_stagingRoot, ".staging-*"));

        // A later host finds the copy and only verifies it.
        clock.Restart();
        await using (var again = new Sandbox(Options(worker, dotnet)))
        {
            var reuse = clock.Elapsed;
            OutcomeAssert.Ok("3", await again.RunAsync(new Submission { Code = "1 + 2" }));
            Console.WriteLine($"staging: construction with an existing copy {reuse.TotalMilliseconds:F0} ms");
        }
        Assert.Single(Directory.GetDirectories(_stagingRoot));

        // What the check before every worker start costs, and what the report says.
        var spec = Warden.Hosting.WorkerLaunchSpec.Resolve(Options(worker, dotnet));
        Assert.NotNull(spec.Isolation.Staged);
        Assert.StartsWith(copy, spec.Isolation.StagedWorkerAssembly);
        Assert.StartsWith(copy, spec.Isolation.StagedDotnetHost);
        Assert.Contains("verified root-owned copy", spec.Isolation.Report.Layers.Single(l => l.Name == "unprivileged-uid").Detail);
        clock.Restart();
        for (int i = 0; i < 100; i++)
        {
            Assert.Null(spec.Isolation.Staged.Changed());
        }
        Console.WriteLine($"staging: identity check before a worker start {clock.Elapsed.TotalMilliseconds / 100:F2} ms");
        // Reachable originals are never staged: this build's own output is staged only when this
        // repository itself sits below a directory uid 65534 cannot search (a clone in root's 0700
        // home, as CI may make).
        var direct = Warden.Hosting.WorkerLaunchSpec.Resolve(new SandboxOptions { WorkerStagingRoot = _stagingRoot });
        Assert.Equal(!SearchableByOthersAllTheWay(AppContext.BaseDirectory), direct.Isolation.Staged is not null);
        await fx.AssertHealthyAsync();
    }

    private static bool SearchableByOthersAllTheWay(string directory)
    {
        for (var d = new DirectoryInfo(directory); d is not null; d = d.Parent)
        {
            if ((d.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }
        return true;
    }

    public static TheoryData<string> Tampering => new() { "content", "owner", "mode", "symlink", "extra-file", "hard-link" };

    [Theory]
    [MemberData(nameof(Tampering))]
    public void ATamperedCopyIsDetectedAndReplaced(string tampering)
    {
        string source = Path.Combine(_private, "src");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.WriteAllText(Path.Combine(source, "a.dll"), "original a");
        File.WriteAllText(Path.Combine(source, "sub", "b.so"), "original b");
        WorkerStaging.Entry[] entries = [new("worker/a.dll", Path.Combine(source, "a.dll")), new("worker/sub/b.so", Path.Combine(source, "sub", "b.so"))];

        var (staged, problem) = WorkerStaging.Stage(_stagingRoot, entries);
        Assert.Null(problem);
        Assert.NotNull(staged);
        Assert.Null(staged.Changed());
        string victim = Path.Combine(staged.Path, "worker", "a.dll");
        Assert.Equal("original a", File.ReadAllText(victim));

        switch (tampering)
        {
            case "content":
                File.WriteAllText(victim, "evil a"); // same length would not matter: the change time moves
                break;
            case "owner":
                Run("chown", "12345:12345", victim);
                break;
            case "mode":
                File.SetUnixFileMode(victim, (UnixFileMode)0b110_110_110);
                break;
            case "symlink":
                string elsewhere = Path.Combine(_private, "evil.dll");
                File.WriteAllText(elsewhere, "original a");
                File.Delete(victim);
                File.CreateSymbolicLink(victim, elsewhere);
                break;
            case "extra-file":
                File.WriteAllText(Path.Combine(staged.Path, "worker", "sub", "planted.so"), "x");
                break;
            case "hard-link":
                Run("ln", victim, Path.Combine(_stagingRoot, "second-name"));
                break;
        }

        // Before the next worker start: the cheap check sees it.
        Assert.NotNull(staged.Changed());
        // The next host: the copy fails its full check, is moved aside and made again from the source.
        var (again, againProblem) = WorkerStaging.Stage(_stagingRoot, entries);
        Assert.Null(againProblem);
        Assert.NotNull(again);
        Assert.NotNull(again.Replaced);
        Assert.Equal(staged.Path, again.Path);
        Assert.Null(again.Changed());
        var info = new FileInfo(Path.Combine(again.Path, "worker", "a.dll"));
        Assert.Null(info.LinkTarget);
        Assert.Equal("original a", File.ReadAllText(info.FullName));
        Assert.Equal((UnixFileMode)0b110_100_100, info.UnixFileMode);
        Assert.False(File.Exists(Path.Combine(again.Path, "worker", "sub", "planted.so")));
        Assert.Empty(Directory.GetDirectories(_stagingRoot, ".rejected-*"));
    }

    [Fact]
    public async Task ACopyChangedUnderALiveSandboxIsNeverStarted()
    {
        var (worker, dotnet) = CopyWorkerAndRuntimeIntoPrivateDirectory();
        await using var sandbox = new Sandbox(Options(worker, dotnet));
        OutcomeAssert.Ok("1", await sandbox.RunAsync(new Submission { Code = "1" }));
        string copy = Assert.Single(Directory.GetDirectories(_stagingRoot));
        string runtimeConfig = Path.Combine(copy, "worker", "Warden.Worker.runtimeconfig.json");
        File.AppendAllText(runtimeConfig, " ");

        var clock = Stopwatch.StartNew();
        var outcome = await sandbox.RunAsync(new Submission { Code = "1" });
        OutcomeAssert.Failed(OutcomeStatus.InternalError, "InternalError", outcome);
        Assert.Contains("failed its check", outcome.Error!.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"refusing took {clock.Elapsed}");
        Assert.Equal(1, sandbox.Statistics.WorkersStarted);

        // A new host replaces the copy and runs again.
        await using var next = new Sandbox(Options(worker, dotnet));
        OutcomeAssert.Ok("2", await next.RunAsync(new Submission { Code = "1 + 1" }));
        await fx.AssertHealthyAsync();
    }

    [Fact]
    public void LeftoversOfDeadHostsAreRemovedAndFreshOnesKept()
    {
        Directory.CreateDirectory(_stagingRoot);
        string old = Directory.CreateDirectory(Path.Combine(_stagingRoot, ".staging-0000000000000000")).FullName;
        File.WriteAllText(Path.Combine(old, "half.dll"), "x");
        Directory.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-2));
        string fresh = Directory.CreateDirectory(Path.Combine(_stagingRoot, ".staging-1111111111111111")).FullName;
        string source = Path.Combine(_private, "one.dll");
        File.WriteAllText(source, "one");
        var (staged, problem) = WorkerStaging.Stage(_stagingRoot, [new("worker/one.dll", source)]);
        Assert.Null(problem);
        Assert.NotNull(staged);
        Assert.False(Directory.Exists(old));
        Assert.True(Directory.Exists(fresh), "a host may still be filling it");
    }

    [Fact]
    public void StagingRefusesARootWithAWorldWritableParent()
    {
        // /tmp is world-writable: another user could have made the name first.
        string root = Path.Combine(Path.GetTempPath(), "warden-staging-" + Guid.NewGuid().ToString("n"), "workers");
        var (staged, problem) = WorkerStaging.Stage(root, []);
        Assert.Null(staged);
        Assert.Contains("someone other than root", problem);
        Assert.False(Directory.Exists(Path.GetDirectoryName(root)), "nothing is created below a world-writable directory");
    }

    private static void Run(string program, params string[] arguments)
    {
        using var process = Process.Start(program, arguments);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }
}
