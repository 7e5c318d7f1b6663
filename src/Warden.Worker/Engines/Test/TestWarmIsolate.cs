namespace Warden.Worker.Engines.Test;

/// <summary>
/// The test engine's warm isolate: its contexts are fresh <see cref="TestEngineInstance"/>s that share
/// nothing but the memory <c>retain</c> leaves here, which lets the tests drive the worker's bounds on warm
/// isolates (executions, age, limits, growth) through a second engine.
/// </summary>
internal sealed class TestWarmIsolate(ExecutionRecorder recorder) : IWarmIsolate
{
    /// <summary>Native blocks of <see cref="TestEngineInstance.StepBytes"/> that <c>retain</c> left in this isolate.</summary>
    internal List<nint> Blocks { get; } = [];

    public IEngineInstance CreateContext() => new TestEngineInstance(recorder, this);

    public long MemoryInUseBytes(bool collectGarbageFirst) => (long)Blocks.Count * TestEngineInstance.StepBytes;

    public void Dispose() => TestEngineInstance.Free(Blocks);
}
