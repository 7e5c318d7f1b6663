using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Warden.Cli;

/// <summary>
/// `warden run --format pretty`: the outcome for a person at a terminal — status and usage on one line, the
/// result as indented JSON, console lines by level, the error with its stack. JSON (the default) stays the
/// format for programs; this one is not a contract and may change.
/// </summary>
/// <remarks>
/// SECURITY: every string here (result, console text, error message, stack) was made by the untrusted
/// script. Printed raw to a terminal, control characters are commands to the terminal (escape sequences can
/// rewrite earlier lines, change the title, or on some terminals answer back into the input), so every
/// control character but a line break is shown as a visible escape, as the JSON format escapes it.
/// </remarks>
internal static class PrettyOutcome
{
    public static string Render(Outcome outcome)
    {
        var text = new StringBuilder();
        var usage = outcome.Usage;
        text.Append(outcome.Status.ToWireString()).Append("  (").Append(outcome.Engine)
            .Append(", ").Append(Milliseconds(usage.WallMs)).Append(" wall, ").Append(Milliseconds(usage.CpuMs)).Append(" cpu, ")
            .Append(Bytes(usage.MemoryBytes)).Append(" memory");
        if (usage.Fuel is long fuel)
        {
            text.Append(", ").Append(fuel.ToString("N0", CultureInfo.InvariantCulture)).Append(" fuel");
        }
        if (usage.HostCalls is int calls)
        {
            text.Append(", ").Append(calls).Append(calls == 1 ? " host call" : " host calls");
        }
        text.Append(")\n");
        if (outcome.ResultJson is { } result)
        {
            text.Append("result:\n");
            // SECURITY: the relaxed encoder leaves bidi controls (U+202E) and line separators raw, so the
            // re-serialised JSON goes through Visible too (its \uXXXX escapes are JSON's own).
            Indented(text, Visible(IndentedJson(result)));
        }
        if (outcome.Console.Count > 0)
        {
            text.Append("console:\n");
            int width = outcome.Console.Max(e => e.Level.Length);
            foreach (var entry in outcome.Console)
            {
                string prefix = "  " + ("[" + entry.Level + "]").PadRight(width + 2) + " ";
                var lines = Visible(entry.Text).Split('\n');
                text.Append(prefix).Append(lines[0]).Append('\n');
                foreach (string line in lines.Skip(1))
                {
                    text.Append(' ', prefix.Length).Append(line).Append('\n');
                }
            }
        }
        if (outcome.Error is { } error)
        {
            text.Append("error: ").Append(Visible(error.Name)).Append(": ").Append(Visible(error.Message));
            if (error.Limit is { } limit)
            {
                text.Append("  [limit: ").Append(limit.ToWireString()).Append(']');
            }
            text.Append('\n');
            if (error.Stack.Length > 0)
            {
                Indented(text, Visible(error.Stack));
            }
        }
        return text.ToString();
    }

    private static void Indented(StringBuilder text, string block)
    {
        foreach (string line in block.Split('\n'))
        {
            text.Append("  ").Append(line).Append('\n');
        }
    }

    /// <summary>The result indented; JSON's own escaping already keeps control characters out of it.</summary>
    private static string IndentedJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        try
        {
            return JsonSerializer.Serialize(document.RootElement, IndentedOptions);
        }
        catch (JsonException)
        {
            // SECURITY: a lone surrogate ('\ud800', which JSON.stringify emits escaped) cannot be re-serialised;
            // the result is then shown as the host validated it, not as an unhandled exception.
            return json;
        }
    }

    private static readonly JsonSerializerOptions IndentedOptions = new()
    {
        WriteIndented = true,
        // Non-ASCII text shown as itself: the reader is a person. Control characters stay escaped.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Text with every control character but a line break shown as an escape (see the remarks).</summary>
    internal static string Visible(string text)
    {
        StringBuilder? visible = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            // SECURITY: an unpaired surrogate is shown too, so what is printed is always well-formed text.
            bool unpaired = char.IsHighSurrogate(c) ? i + 1 == text.Length || !char.IsLowSurrogate(text[i + 1])
                : char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(text[i - 1]));
            bool control = c != '\n' && (unpaired || char.IsControl(c) || c is '\u2028' or '\u2029' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069'));
            if (control)
            {
                visible ??= new StringBuilder(text, 0, i, text.Length + 16);
                visible.Append(c == '\t' ? "  " : "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                visible?.Append(c);
            }
        }
        return visible?.ToString() ?? text;
    }

    private static string Milliseconds(double ms) =>
        ms >= 1000 ? (ms / 1000).ToString("0.00", CultureInfo.InvariantCulture) + " s" : ms.ToString("0.0", CultureInfo.InvariantCulture) + " ms";

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1 << 30 => (bytes / (double)(1 << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1 << 20 => (bytes / (double)(1 << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1 << 10 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
