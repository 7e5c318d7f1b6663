using System.Runtime.InteropServices;
using Warden.Protocol;

namespace Warden.Worker.Engines.Test;

/// <summary>
/// One execution of the test engine: runs the parsed commands on the script thread in
/// <see cref="Start"/>. It has no event loop (every command ends before Start returns), honours
/// <see cref="Interrupt"/> between steps of every long command, and holds the memory <c>allocate</c> took
/// until it is disposed (<c>retain</c>'s: its warm isolate, when it has one, holds that).
/// </summary>
internal sealed unsafe class TestEngineInstance(ExecutionRecorder recorder, TestWarmIsolate? isolate = null) : IEngineInstance
{
    internal const int StepBytes = 1 << 20;
    private readonly List<nint> _blocks = [];
    private volatile bool _interrupted;

    public void Start(ExecuteMessage request, Func<bool> mayContinue)
    {
        if (request.Module)
        {
            recorder.Fail(new ReportedFailure(WireStatus.ScriptError, null, "SyntaxError", "the test engine runs no modules", "", "module"));
            return;
        }
        var (commands, error) = TestScript.Parse(request.Code);
        if (commands is null)
        {
            recorder.Fail(new ReportedFailure(WireStatus.ScriptError, null, "SyntaxError", error!, "", "evaluate"));
            return;
        }
        string result = "null";
        foreach (var command in commands)
        {
            ThrowIfInterrupted();
            switch (command)
            {
                case TestCommand.Log log:
                    if (!recorder.Log("log", log.Text, 0))
                    {
                        return;   // past the console limit: the recorder has stopped the execution
                    }
                    break;
                case TestCommand.Result value:
                    result = value.Json ?? request.Input ?? "null";
                    break;
                case TestCommand.Throw thrown:
                    recorder.Fail(new ReportedFailure(WireStatus.ScriptError, null, "Error", thrown.Message, "", "run"));
                    return;
                case TestCommand.Spin:
                    while (!_interrupted)
                    {
                        Thread.SpinWait(64);
                    }
                    break;
                case TestCommand.Allocate allocate:
                    Allocate(allocate.Mb, _blocks);
                    break;
                case TestCommand.Retain retain:
                    Allocate(retain.Mb, isolate?.Blocks ?? _blocks);
                    break;
            }
        }
        ThrowIfInterrupted();
        recorder.Complete(result);
    }

    /// <summary>Every command ran in <see cref="Start"/>: nothing is ever left for the loop.</summary>
    public EventLoopTurn Tick() => new(EventLoopState.Settled);

    public void Interrupt() => _interrupted = true;

    public long? FuelConsumed() => null;

    public long MemoryInUseBytes() => ((long)_blocks.Count + (isolate?.Blocks.Count ?? 0)) * StepBytes;

    /// <summary>The test engine's parse errors carry their message already; there is no position to add.</summary>
    public ReportedFailure LocateSyntaxError(ExecuteMessage request, ReportedFailure failure) => failure;

    /// <summary>
    /// Native memory, outside the GC and every engine count, as memory an engine allocates for a script:
    /// only the watchdog's resident-memory trip (or the cgroup) stops it. Each page is written so the
    /// memory is resident, not only reserved.
    /// </summary>
    private void Allocate(int mb, List<nint> owner)
    {
        for (int i = 0; i < mb; i++)
        {
            ThrowIfInterrupted();
            byte* block;
            try
            {
                block = (byte*)NativeMemory.Alloc(StepBytes);
            }
            catch (OutOfMemoryException)
            {
                // What an engine does when the process has no memory left: say so on stderr (the host
                // checks the marker against the worker's growth) and end at once.
                Console.Error.WriteLine("warden-worker: " + TestEngine.OutOfMemoryMarker);
                Console.Error.Flush();
                Native.ExitImmediately(134);
                return;
            }
            owner.Add((nint)block);
            for (int offset = 0; offset < StepBytes; offset += Environment.SystemPageSize)
            {
                block[offset] = 1;
            }
        }
    }

    private void ThrowIfInterrupted()
    {
        if (_interrupted)
        {
            throw new EngineAbortException(EngineAbort.Interrupted);
        }
    }

    public void Dispose() => Free(_blocks);

    internal static void Free(List<nint> blocks)
    {
        foreach (nint block in blocks)
        {
            NativeMemory.Free((void*)block);
        }
        blocks.Clear();
    }
}
