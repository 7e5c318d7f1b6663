namespace Warden.DependencyInjection;

/// <summary>What binding the options from configuration refused, kept until the options are validated.</summary>
internal sealed class SandboxBindingProblems
{
    private readonly List<string> _problems = [];

    /// <summary>Replaces what the previous binding refused: options built again are bound again.</summary>
    public void Set(IEnumerable<string> problems)
    {
        lock (_problems)
        {
            _problems.Clear();
            _problems.AddRange(problems);
        }
    }

    public IReadOnlyList<string> Snapshot()
    {
        lock (_problems)
        {
            return [.. _problems];
        }
    }
}
