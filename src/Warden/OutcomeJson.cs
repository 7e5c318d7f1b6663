using System.Text;
using System.Text.Json;

namespace Warden;

/// <summary>Writes an <see cref="Outcome"/> as the contract's outcome JSON object.</summary>
public static class OutcomeJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The result was validated as one JSON value when it came from the worker; deep results are
        // legal JSON, so the writer must not impose its own small depth limit on them.
        SkipValidation = false,
        MaxDepth = 1_000_000,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Serialises the outcome to a compact UTF-8 JSON string.</summary>
    public static string Serialize(Outcome outcome) => Encoding.UTF8.GetString(SerializeToUtf8Bytes(outcome));

    /// <summary>Serialises the outcome to compact UTF-8 JSON bytes.</summary>
    public static byte[] SerializeToUtf8Bytes(Outcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("status", outcome.Status.ToWireString());
            w.WritePropertyName("result");
            if (outcome.ResultJson is null)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteRawValue(outcome.ResultJson, skipInputValidation: true);
            }
            w.WriteStartArray("console");
            foreach (var entry in outcome.Console)
            {
                w.WriteStartObject();
                w.WriteString("level", entry.Level);
                w.WriteString("text", entry.Text);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WritePropertyName("error");
            if (outcome.Error is null)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteStartObject();
                w.WriteString("name", outcome.Error.Name);
                w.WriteString("message", outcome.Error.Message);
                w.WriteString("stack", outcome.Error.Stack);
                if (outcome.Error.Limit is { } limit)
                {
                    w.WriteString("limit", limit.ToWireString());
                }
                else
                {
                    w.WriteNull("limit");
                }
                w.WriteEndObject();
            }
            w.WriteStartObject("usage");
            w.WriteNumber("wallMs", Math.Round(outcome.Usage.WallMs, 3));
            w.WriteNumber("cpuMs", Math.Round(outcome.Usage.CpuMs, 3));
            w.WriteNumber("memoryBytes", outcome.Usage.MemoryBytes);
            // Only engines that count fuel report it: a v8 outcome keeps the three members it always had.
            if (outcome.Usage.Fuel is { } fuel)
            {
                w.WriteNumber("fuel", fuel);
            }
            // Only executions granted host functions report them: other outcomes keep the members they always had.
            if (outcome.Usage.HostCalls is { } hostCalls)
            {
                w.WriteNumber("hostCalls", hostCalls);
                w.WriteNumber("hostMs", Math.Round(outcome.Usage.HostMs ?? 0, 3));
            }
            w.WriteEndObject();
            w.WriteString("engine", outcome.Engine);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
