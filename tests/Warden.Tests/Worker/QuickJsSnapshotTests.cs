using System.Diagnostics;
using Warden.Worker.Engines.QuickJs;

namespace Warden.Tests.Worker;

/// <summary>
/// The QuickJS snapshot (an initialised VM with the prelude, copied into every fresh instance) in this process:
/// this build of QuickJS must allow one (its Math.random seed found exactly once), and copying it must be much
/// cheaper than initialising, or the snapshot is not worth its risk.
/// </summary>
public sealed class QuickJsSnapshotTests
{
    [Fact]
    public void ThisBuildMakesASnapshotWithTheRandomSeedFoundOnce()
    {
        var snapshot = QuickJsSnapshot.Current;
        Assert.NotNull(snapshot);
        Assert.Equal(QuickJsInstance.SnapshotRandomState, BitConverter.ToUInt64(snapshot.Memory, snapshot.RandomStateAddress - 1));
        Assert.True(snapshot.Memory.Length < 4 << 20, $"the snapshot holds {snapshot.Memory.Length} bytes");
    }

    [Fact]
    public void RestoringIsCheaperThanInitialising()
    {
        var snapshot = QuickJsSnapshot.Current!;
        for (int i = 0; i < 3; i++)
        {
            QuickJsInstance.CreateSnapshot();
        }
        var initialise = Stopwatch.StartNew();
        for (int i = 0; i < 10; i++)
        {
            QuickJsInstance.CreateSnapshot();
        }
        initialise.Stop();
        var restore = Stopwatch.StartNew();
        for (int i = 0; i < 10; i++)
        {
            QuickJsInstance.Create(16, null!).Dispose();
        }
        restore.Stop();
        Assert.True(restore.Elapsed < initialise.Elapsed, $"restore {restore.Elapsed.TotalMilliseconds / 10:F2} ms, initialise {initialise.Elapsed.TotalMilliseconds / 10:F2} ms");
        Assert.NotNull(snapshot);
    }
}
