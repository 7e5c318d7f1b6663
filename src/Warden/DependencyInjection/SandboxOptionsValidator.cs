using Microsoft.Extensions.Options;

namespace Warden.DependencyInjection;

/// <summary>
/// Validates <see cref="SandboxOptions"/> for the options system: every problem at once, the binder's
/// refusals first, then <see cref="SandboxOptions.Validate"/>'s.
/// </summary>
internal sealed class SandboxOptionsValidator(SandboxBindingProblems bindingProblems) : IValidateOptions<SandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, SandboxOptions options)
    {
        if (name != Options.DefaultName)
        {
            return ValidateOptionsResult.Skip;
        }
        var problems = bindingProblems.Snapshot().Concat(options.Validate()).ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
