namespace Warden.Worker;

/// <summary>A failure as the prelude (or the worker) described it.</summary>
/// <param name="Phase">Where it happened, in the prelude's words: evaluate, module, run, result.</param>
internal sealed record ReportedFailure(string Status, string? Limit, string Name, string Message, string Stack, string Phase);
