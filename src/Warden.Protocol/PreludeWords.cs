using System.Text;
using System.Text.Json;

namespace Warden.Protocol;

/// <summary>
/// The contract's words the prelude reports with (Prelude/words.js): status and limit words, error
/// names and the result limit's message, taken from <see cref="WireStatus"/>, <see cref="WireErrorNames"/>
/// and <see cref="LimitMessages"/> so that the JavaScript side spells none of them itself. Handed to the
/// prelude's factory as a JSON string (a primitive, not a host object); the prelude parses it once,
/// before any user code runs, into a frozen record.
/// </summary>
internal static class PreludeWords
{
    public static string Json { get; } = Write();

    private static string Write()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("scriptError", WireStatus.ScriptError);
            json.WriteString("memoryLimit", WireStatus.MemoryLimit);
            json.WriteString("outputLimit", WireStatus.OutputLimit);
            json.WriteString("limitArrayBuffer", WireStatus.LimitArrayBuffer);
            json.WriteString("limitResult", WireStatus.LimitResult);
            json.WriteString("outputLimitError", WireErrorNames.OutputLimit);
            json.WriteString("resultTooLarge", LimitMessages.ResultTooLargeTemplate);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
