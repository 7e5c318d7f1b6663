namespace Warden.Worker.Engines;

/// <summary>Engine features that the operator enabled (from <c>configure</c>); an engine without them ignores them.</summary>
internal sealed record EngineFeatures(bool WebAssembly, bool SharedMemory);
