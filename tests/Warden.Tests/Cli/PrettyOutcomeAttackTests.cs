using Warden.Cli;

namespace Warden.Tests.Cli;

/// <summary>Attacks on `--format pretty` from the script's own output (TM-15 (b)).</summary>
public sealed class PrettyOutcomeAttackTests
{
    // ESC, CSI (C1), OSC (C1), NEL, BEL, DEL, bidi overrides and isolates, line/paragraph separators.
    private const string Hostile = "\u001b[2J\u009b31m\u009d0;pwned\u0007\u0085\u007f\u202e\u2067\u2028\u2029\u200e";

    private static void AssertNoTerminalControl(string rendered)
    {
        foreach (char c in rendered)
        {
            bool terminalControl = (c != '\n' && char.IsControl(c)) || c is '\u2028' or '\u2029' or '\u200E' or '\u200F'
                || c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069') || char.IsSurrogate(c);
            if (terminalControl)
            {
                // The message only on failure: built for every character, it made this check quadratic on 1 MiB lines.
                Assert.Fail($"U+{(int)c:X4} reached the terminal raw in: {rendered[..Math.Min(rendered.Length, 2000)]}");
            }
        }
    }

    [Fact]
    public void HostileTextInTheResultJsonIsEscapedAfterReserialisation()
    {
        string json = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
        {
            [Hostile] = Hostile,
            ["zwj"] = "a\u200db",
        });
        var outcome = new Outcome { Status = OutcomeStatus.Ok, ResultJson = json };

        AssertNoTerminalControl(PrettyOutcome.Render(outcome));
    }

    [Fact]
    public void LoneSurrogatesInTheResultNeverReachTheTerminalRaw()
    {
        var outcome = new Outcome { Status = OutcomeStatus.Ok, ResultJson = "[\"\\ud800x\\udfff\"]" };

        AssertNoTerminalControl(PrettyOutcome.Render(outcome));
    }

    [Fact]
    public void HostileTextInConsoleAndErrorIsEscaped()
    {
        var outcome = new Outcome
        {
            Status = OutcomeStatus.ScriptError,
            Console = [new ConsoleEntry("log", Hostile + "\ud800"), new ConsoleEntry("error", new string('x', 1 << 20) + Hostile)],
            Error = new ExecutionError(Hostile, Hostile, Hostile + "\n" + Hostile, null),
        };

        AssertNoTerminalControl(PrettyOutcome.Render(outcome));
    }
}
