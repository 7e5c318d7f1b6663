using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Warden.DependencyInjection;

/// <summary>
/// Binds <see cref="SandboxOptions"/> from a configuration section. Some options refuse nonsense in their
/// setters (<see cref="SandboxLimits"/>, <see cref="WarmIsolateOptions"/>), which the binder surfaces as a
/// <see cref="TargetInvocationException"/> from its reflection call; those, and the binder's own
/// conversion failures, are kept for <see cref="SandboxOptionsValidator"/> to report with every other problem.
/// </summary>
internal sealed class SandboxOptionsBinder(IConfigurationSection section, SandboxBindingProblems problems)
    : IConfigureNamedOptions<SandboxOptions>
{
    public void Configure(SandboxOptions options) => Configure(Options.DefaultName, options);

    public void Configure(string? name, SandboxOptions options)
    {
        if (name != Options.DefaultName)
        {
            return;
        }
        problems.Set(Bind(options));
    }

    private IEnumerable<string> Bind(SandboxOptions options)
    {
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            return [$"{section.Path}: {e.Message}"];
        }
        catch (TargetInvocationException e) when (e.InnerException is ArgumentOutOfRangeException refused)
        {
            return [$"{section.Path}: {refused.Message.Split(" (Parameter", 2)[0]} (got {refused.ActualValue})"];
        }
        return [];
    }
}
