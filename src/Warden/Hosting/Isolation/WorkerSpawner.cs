using System.Collections.Concurrent;
using System.Diagnostics;

namespace Warden.Hosting.Isolation;

/// <summary>
/// Starts every worker process from one dedicated thread that lives as long as the host. Why: bwrap's
/// --die-with-parent is PR_SET_PDEATHSIG, and Linux sends that signal when the *thread* that forked
/// the process exits — .NET forks on the calling thread, and thread-pool threads retire when idle,
/// which would kill healthy workers at random.
/// </summary>
internal static class WorkerSpawner
{
    private static readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Done)> Requests = new();

    static WorkerSpawner()
    {
        new Thread(Loop) { IsBackground = true, Name = "warden-spawner" }.Start();
    }

    public static Task<Process> StartAsync(ProcessStartInfo info)
    {
        var done = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Requests.Add((info, done));
        return done.Task;
    }

    private static void Loop()
    {
        foreach (var (info, done) in Requests.GetConsumingEnumerable())
        {
            try
            {
                done.SetResult(Process.Start(info) ?? throw new InvalidOperationException("the worker process could not be started"));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }
    }
}
