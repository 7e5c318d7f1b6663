using System.Buffers.Binary;
using System.Text;
using Warden.Hosting;
using Warden.Protocol;

namespace Warden.Tests.Protocol;

public sealed class FrameCodecTests
{
    private static MemoryStream Frame(string json, uint? declaredLength = null)
    {
        var payload = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, declaredLength ?? (uint)payload.Length);
        payload.CopyTo(bytes, 4);
        return new MemoryStream(bytes);
    }

    [Fact]
    public async Task RoundTripsAMessage()
    {
        var message = new ConsoleMessage("x1", "log", "héllo");
        var stream = new MemoryStream(FrameCodec.Encode(message));
        var payload = await FrameCodec.ReadFrameAsync(stream, 1024, CancellationToken.None);
        Assert.Equal(message, FrameCodec.DecodeWorkerMessage(payload!));
        Assert.Null(await FrameCodec.ReadFrameAsync(stream, 1024, CancellationToken.None));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1025u)]
    [InlineData(uint.MaxValue)]
    public async Task LengthsOutsideTheCapAreRefusedBeforeAllocating(uint declared)
    {
        var stream = Frame("{}", declared);
        await Assert.ThrowsAsync<ProtocolViolationException>(() => FrameCodec.ReadFrameAsync(stream, 1024, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task TruncatedFramesAreViolations()
    {
        await Assert.ThrowsAsync<ProtocolViolationException>(() => FrameCodec.ReadFrameAsync(new MemoryStream([1, 0]), 1024, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ProtocolViolationException>(() => FrameCodec.ReadFrameAsync(Frame("{\"type\":\"ready\"}", 100), 1024, CancellationToken.None).AsTask());
    }

    [Theory]
    [InlineData("{\"type\":\"ready\",\"pid\":1,\"extra\":true}")]              // unknown member
    [InlineData("{\"type\":\"ready\"}")]                                       // missing member
    [InlineData("{\"type\":\"execute\",\"id\":\"a\"}")]                        // a host message type
    [InlineData("{\"type\":\"shell\",\"cmd\":\"rm -rf /\"}")]                  // unknown type
    [InlineData("{\"type\":\"ready\",\"pid\":\"1\"}")]                         // wrong type
    [InlineData("{\"type\":\"ready\",\"pid\":1}{}")]                           // trailing data
    [InlineData("null")]
    [InlineData("[1]")]
    [InlineData("\u0000\u0001binary")]
    [InlineData("{\"type\":\"result\",\"id\":\"x\",\"status\":\"ok\",\"usage\":{\"wallMs\":1,\"cpuMs\":1,\"memoryBytes\":1,\"more\":{}}}")]
    public void WorkerMessagesFollowAStrictSchema(string json)
    {
        Assert.Throws<ProtocolViolationException>(() => FrameCodec.DecodeWorkerMessage(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("{\"a\":[1,2,{\"b\":null}]}", true)]
    [InlineData("\"s\"", true)]
    [InlineData("1 2", false)]
    [InlineData("{", false)]
    [InlineData("", false)]
    [InlineData("[1,]", false)]
    [InlineData("/*c*/1", false)]
    [InlineData("NaN", false)]
    public void ResultsMustBeExactlyOneJsonValue(string json, bool valid)
    {
        Assert.Equal(valid, WorkerOutcomes.IsExactlyOneJsonValue(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void DeepButValidJsonIsAccepted()
    {
        var deep = new string('[', 5000) + new string(']', 5000);
        Assert.True(WorkerOutcomes.IsExactlyOneJsonValue(Encoding.UTF8.GetBytes(deep)));
    }

    [Fact]
    public void TruncationRespectsUtf8AndSurrogates()
    {
        var text = string.Concat(Enumerable.Repeat("😀é", 100));
        var cut = Utf8Text.Truncate(text, 64);
        Assert.True(Encoding.UTF8.GetByteCount(cut) <= 64);
        Assert.False(char.IsHighSurrogate(cut[^2]));
        Assert.Equal("short", Utf8Text.Truncate("short", 64));
        Assert.EndsWith("\u2026", Utf8Text.Truncate(new string('a', 100), 64));
        Assert.Equal(64, Encoding.UTF8.GetByteCount(Utf8Text.Truncate(new string('a', 100), 64)));
    }
}
