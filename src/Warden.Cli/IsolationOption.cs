using System.CommandLine;
using Warden;

namespace Warden.Cli;

/// <summary>--isolation required|best-effort|none: weaker isolation is only ever asked for by name.</summary>
internal static class IsolationOption
{
    public static Option<string> Create() => new Option<string>("--isolation")
    {
        Description = "OS isolation of workers: required (default: refuse to run if a layer is missing), "
            + "best-effort (use what this machine has, warn about the rest), none (no OS layer; development only).",
        HelpName = "MODE",
        DefaultValueFactory = _ => "required",
    }.AcceptOnlyFromAmong("required", "best-effort", "none");

    public static OsIsolationMode Parse(string? value) => value switch
    {
        "best-effort" => OsIsolationMode.BestEffort,
        "none" => OsIsolationMode.Disabled,
        _ => OsIsolationMode.Required,
    };
}
