using System.Buffers.Binary;
using System.Text.Json;

namespace Warden.Protocol;

/// <summary>
/// Length-prefixed frames: a 4-byte little-endian payload length, then that many bytes of UTF-8 JSON.
/// </summary>
/// <remarks>
/// The reader checks the declared length against the caller's cap <em>before</em> allocating, so a
/// hostile peer cannot make the reader allocate more than the cap by lying about a length.
/// </remarks>
internal static class FrameCodec
{
    public const int HeaderBytes = 4;

    // Non-ASCII text travels as UTF-8 rather than \uXXXX escapes (up to 6 bytes a byte): frames stay
    // close to the size of what they carry. The protocol is never embedded in HTML, so the relaxed
    // encoder's only caveat does not apply.
    private static readonly ProtocolJsonContext Context = new(new System.Text.Json.JsonSerializerOptions(ProtocolJsonContext.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>Reads one frame's payload, or returns null at a clean end of stream (no partial header).</summary>
    /// <exception cref="ProtocolViolationException">The stream ended mid-frame or the length breaks the cap.</exception>
    public static async ValueTask<byte[]?> ReadFrameAsync(Stream stream, int maxPayloadBytes, CancellationToken cancellationToken)
    {
        var header = new byte[HeaderBytes];
        int got = await stream.ReadAtLeastAsync(header, HeaderBytes, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }
        var payload = new byte[CheckedLength(header, got, maxPayloadBytes)];
        int read = await stream.ReadAtLeastAsync(payload, payload.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return CheckedPayload(payload, read);
    }

    /// <summary>Blocking variant for the worker, whose reader is a dedicated thread.</summary>
    public static byte[]? ReadFrame(Stream stream, int maxPayloadBytes)
    {
        var header = new byte[HeaderBytes];
        int got = stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false);
        if (got == 0)
        {
            return null;
        }
        var payload = new byte[CheckedLength(header, got, maxPayloadBytes)];
        return CheckedPayload(payload, stream.ReadAtLeast(payload, payload.Length, throwOnEndOfStream: false));
    }

    // The declared length is checked against the cap before the payload buffer is allocated.
    private static int CheckedLength(byte[] header, int got, int maxPayloadBytes)
    {
        if (got < HeaderBytes)
        {
            throw new ProtocolViolationException("stream ended inside a frame header");
        }
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (length == 0 || length > (uint)maxPayloadBytes)
        {
            throw new ProtocolViolationException($"frame length {length} is outside 1..{maxPayloadBytes}");
        }
        return (int)length;
    }

    private static byte[] CheckedPayload(byte[] payload, int read) =>
        read < payload.Length ? throw new ProtocolViolationException("stream ended inside a frame payload") : payload;

    public static byte[] Encode(HostMessage message) =>
        WithHeader(JsonSerializer.SerializeToUtf8Bytes(message, Context.HostMessage));

    public static byte[] Encode(WorkerMessage message) =>
        WithHeader(JsonSerializer.SerializeToUtf8Bytes(message, Context.WorkerMessage));

    public static HostMessage DecodeHostMessage(byte[] payload) =>
        Decode(payload, static p => JsonSerializer.Deserialize(p, Context.HostMessage));

    public static WorkerMessage DecodeWorkerMessage(byte[] payload) =>
        Decode(payload, static p => JsonSerializer.Deserialize(p, Context.WorkerMessage));

    private static T Decode<T>(byte[] payload, Func<byte[], T?> deserialize) where T : class
    {
        try
        {
            return deserialize(payload) ?? throw new ProtocolViolationException("frame holds JSON null");
        }
        catch (JsonException e)
        {
            throw new ProtocolViolationException("frame does not match the schema: " + e.Message);
        }
        catch (NotSupportedException e)
        {
            throw new ProtocolViolationException("frame does not match the schema: " + e.Message);
        }
    }

    private static byte[] WithHeader(byte[] payload)
    {
        var frame = new byte[HeaderBytes + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderBytes));
        return frame;
    }
}

/// <summary>The peer broke the wire protocol: the connection (and, on the host, the worker) is finished.</summary>
internal sealed class ProtocolViolationException(string message) : Exception(message);
