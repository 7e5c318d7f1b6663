using System.Globalization;
using System.Text.Json;

namespace Warden.Worker.Engines.Test;

/// <summary>One command of the test engine's language.</summary>
internal abstract record TestCommand
{
    /// <summary><c>log &lt;text&gt;</c>: a console entry at level "log", the text as given.</summary>
    public sealed record Log(string Text) : TestCommand;

    /// <summary><c>result &lt;json&gt;</c> (the JSON as given) or <c>input</c> (the input's JSON, null when none).</summary>
    public sealed record Result(string? Json) : TestCommand;

    /// <summary><c>throw &lt;message&gt;</c>: a script error named "Error".</summary>
    public sealed record Throw(string Message) : TestCommand;

    /// <summary><c>spin</c>: burns CPU until interrupted.</summary>
    public sealed record Spin : TestCommand;

    /// <summary><c>allocate &lt;mb&gt;</c>: allocates and touches that much native memory, 1 MB at a time.</summary>
    public sealed record Allocate(int Mb) : TestCommand;

    /// <summary>
    /// <c>retain &lt;mb&gt;</c>: as <c>allocate</c>, but held by the instance's warm isolate when it has one, so it
    /// outlives the execution (what a script leaves reachable in an engine's shared state); else as <c>allocate</c>.
    /// </summary>
    public sealed record Retain(int Mb) : TestCommand;
}

/// <summary>
/// The test engine's language: one command a line, leading and trailing whitespace trimmed, empty lines
/// skipped; the command is the first word, its argument the rest of the line. The whole submission is
/// parsed before any command runs, so a bad line is a SyntaxError with nothing run, as a JavaScript
/// parse error is.
/// </summary>
internal static class TestScript
{
    /// <summary>Most MB one <c>allocate</c> asks for: far above any budget the host allows, and no overflow.</summary>
    public const int MaxAllocateMb = 1 << 20;

    /// <summary>The commands, or the SyntaxError's message.</summary>
    public static (IReadOnlyList<TestCommand>? Commands, string? Error) Parse(string code)
    {
        var commands = new List<TestCommand>();
        foreach (string raw in code.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }
            int space = line.IndexOfAny([' ', '\t']);
            string word = space < 0 ? line : line[..space];
            string argument = space < 0 ? "" : line[(space + 1)..].TrimStart();
            switch (word)
            {
                case "log":
                    commands.Add(new TestCommand.Log(argument));
                    break;
                case "result":
                    if (!IsOneJsonValue(argument))
                    {
                        return (null, "result needs exactly one JSON value");
                    }
                    commands.Add(new TestCommand.Result(argument));
                    break;
                case "input":
                    if (argument.Length != 0)
                    {
                        return (null, "input takes no argument");
                    }
                    commands.Add(new TestCommand.Result(null));
                    break;
                case "throw":
                    commands.Add(new TestCommand.Throw(argument));
                    break;
                case "spin":
                    if (argument.Length != 0)
                    {
                        return (null, "spin takes no argument");
                    }
                    commands.Add(new TestCommand.Spin());
                    break;
                case "allocate" or "retain":
                    if (!int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out int mb) || mb > MaxAllocateMb)
                    {
                        return (null, $"{word} needs a whole number of MB from 0 to {MaxAllocateMb}");
                    }
                    commands.Add(word == "allocate" ? new TestCommand.Allocate(mb) : new TestCommand.Retain(mb));
                    break;
                default:
                    return (null, $"unknown command '{word}'");
            }
        }
        return (commands, null);
    }

    private static bool IsOneJsonValue(string text)
    {
        try
        {
            // JsonDocument refuses trailing content, comments and trailing commas: exactly one value.
            using var document = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
