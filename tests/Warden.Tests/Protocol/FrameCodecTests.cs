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

    /// <summary>Host functions are opt-in down to the wire: without a grant an execute frame is exactly what it was.</summary>
    [Fact]
    public void AnExecutionWithoutHostFunctionsCarriesNoTraceOfThem()
    {
        var options = new SandboxOptions();
        options.HostFunctions.Add("f", (System.Text.Json.JsonElement a, HostCallContext c) => (System.Text.Json.Nodes.JsonNode?)null);
        var limits = SubmissionValidator.Resolve(options.Limits, 1000, 1000, 128);
        string plain = Encoding.UTF8.GetString(FrameCodec.Encode(WorkerMessages.Execute("x1", "v8", new Submission { Code = "1" }, limits, options)));
        Assert.DoesNotContain("host", plain, StringComparison.OrdinalIgnoreCase);
        string granted = Encoding.UTF8.GetString(FrameCodec.Encode(WorkerMessages.Execute("x1", "v8", new Submission { Code = "1", HostFunctions = ["f"] }, limits, options)));
        Assert.Contains("\"host\":{\"functions\":[\"f\"],\"maxCalls\":100,\"maxConcurrentCalls\":8,\"maxArgumentBytes\":1048576,\"maxResultBytes\":1048576,\"callTimeoutMs\":5000}", granted);
    }

    [Fact]
    public void HostCallFramesRoundTripAndRefuseUnknownMembers()
    {
        var call = new HostCallMessage("x1", 3, "lookupUser", "[1,{\"a\":\"b\"}]");
        var payload = FrameCodec.Encode(call)[FrameCodec.HeaderBytes..];
        Assert.Equal(call, FrameCodec.DecodeWorkerMessage(payload));
        Assert.Throws<ProtocolViolationException>(() => FrameCodec.DecodeWorkerMessage(Encoding.UTF8.GetBytes(
            "{\"type\":\"hostCall\",\"id\":\"x1\",\"callId\":1,\"name\":\"f\",\"arguments\":\"[]\",\"extra\":1}")));
        Assert.Throws<ProtocolViolationException>(() => FrameCodec.DecodeWorkerMessage(Encoding.UTF8.GetBytes(
            "{\"type\":\"hostCall\",\"id\":\"x1\",\"callId\":1,\"name\":\"f\"}")));
    }

    [Theory]
    [InlineData("then")]
    [InlineData("default")]
    [InlineData("")]
    [InlineData("1abc")]
    [InlineData("a-b")]
    [InlineData("caf\u00e9")]
    [InlineData("a b")]
    public void HostFunctionNamesMustBeSafeIdentifiers(string name)
    {
        var functions = new HostFunctionCollection();
        Assert.Throws<ArgumentException>(() => functions.Add(name, (System.Text.Json.JsonElement a, HostCallContext c) => (System.Text.Json.Nodes.JsonNode?)null));
        Assert.Throws<ArgumentException>(() => functions.Add(new string('a', HostCallWords.MaxNameLength + 1), (System.Text.Json.JsonElement a, HostCallContext c) => (System.Text.Json.Nodes.JsonNode?)null));
        functions.Add("$ok_1", (System.Text.Json.JsonElement a, HostCallContext c) => (System.Text.Json.Nodes.JsonNode?)null);
        Assert.Throws<ArgumentException>(() => functions.Add("$ok_1", (System.Text.Json.JsonElement a, HostCallContext c) => (System.Text.Json.Nodes.JsonNode?)null));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SandboxLimits { MaxHostCalls = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SandboxLimits { MaxHostCallArgumentBytes = (16 << 20) + 1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SandboxLimits { HostCallTimeoutMs = 0 });
    }
}
