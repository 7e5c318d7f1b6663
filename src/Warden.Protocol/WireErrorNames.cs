namespace Warden.Protocol;

/// <summary>
/// The error names of the contract's limit and internal failures (<c>error.name</c> of an outcome), as the
/// worker, the host and the prelude spell them. A script's own errors keep the names it gave them.
/// </summary>
internal static class WireErrorNames
{
    /// <summary>The CPU or wall-clock limit ended the execution (status <c>timeout</c>).</summary>
    public const string Timeout = "TimeoutError";

    /// <summary>A memory limit ended the execution (status <c>memory_limit</c>).</summary>
    public const string MemoryLimit = "MemoryLimitError";

    /// <summary>The console or result limit ended the execution (status <c>output_limit</c>).</summary>
    public const string OutputLimit = "OutputLimitError";

    /// <summary>Warden itself failed (status <c>internal_error</c>).</summary>
    public const string Internal = "InternalError";

    /// <summary>The request was refused before anything ran (status <c>invalid_request</c>).</summary>
    public const string InvalidRequest = "InvalidRequest";
}
