using System.Text.Json;
using Warden.Hosting;
using Warden.Hosting.Fetch;

namespace Warden.Tests.Hosting.Fetch;

/// <summary>The JSON shapes of a fetch call: exactly the request object, anything else refused as hostile.</summary>
public sealed class FetchFramesTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Fact]
    public void The_request_shape_is_read()
    {
        var request = FetchFrames.ReadRequest(Json("""[{"url":"http://a.test/x","method":"POST","headers":[["a","1"],["b","2"]],"body":"AAEC","redirect":"manual"}]"""));
        Assert.Equal("http://a.test/x", request.Url);
        Assert.Equal("POST", request.Method);
        Assert.Equal([new("a", "1"), new("b", "2")], request.Headers);
        Assert.Equal(new byte[] { 0, 1, 2 }, request.Body);
        Assert.False(request.SkipRedirectBody);
        var follow = FetchFrames.ReadRequest(Json("""[{"redirect":"follow","body":null,"headers":[],"method":"GET","url":"http://a.test/"}]"""));
        Assert.Null(follow.Body);
        Assert.True(follow.SkipRedirectBody);
    }

    [Theory]
    [InlineData("""{"url":"http://a.test/","method":"GET","headers":[],"body":null,"redirect":"follow"}""")] // not in an array
    [InlineData("""[]""")]
    [InlineData("""[{"url":"http://a.test/","method":"GET","headers":[],"body":null,"redirect":"follow"}, 1]""")]
    [InlineData("""[{"method":"GET","headers":[],"body":null,"redirect":"follow"}]""")]
    [InlineData("""[{"url":"http://a.test/","method":"GET","headers":[],"redirect":"follow"}]""")]
    [InlineData("""[{"url":"http://a.test/","method":"GET","headers":[],"body":null,"redirect":"follow","extra":1}]""")]
    [InlineData("""[{"url":"http://a.test/","url":"http://b.test/","method":"GET","headers":[],"body":null,"redirect":"follow"}]""")]
    [InlineData("""[{"url":1,"method":"GET","headers":[],"body":null,"redirect":"follow"}]""")]
    [InlineData("""[{"url":"http://a.test/","method":"GET","headers":{"a":"1"},"body":null,"redirect":"follow"}]""")]
    [InlineData("""[{"url":"http://a.test/","method":"GET","headers":[["a"]],"body":null,"redirect":"follow"}]""")]
    [InlineData("""[{"url":"http://a.test/","method":"GET","headers":[["a","1","2"]],"body":null,"redirect":"follow"}]""")]
    [InlineData("""[{"url":"http://a.test/","method":"GET","headers":[["a",1]],"body":null,"redirect":"follow"}]""")]
    [InlineData("""[{"url":"http://a.test/","method":"POST","headers":[],"body":"not base64!","redirect":"follow"}]""")]
    [InlineData("""[{"url":"http://a.test/","method":"POST","headers":[],"body":[1,2],"redirect":"follow"}]""")]
    [InlineData("""[{"url":"http://a.test/","method":"GET","headers":[],"body":null,"redirect":"FOLLOW"}]""")]
    [InlineData("""[{"url":"http://a.test/","method":null,"headers":[],"body":null,"redirect":"follow"}]""")]
    public void Anything_but_the_request_shape_is_a_TypeError(string arguments)
    {
        var e = Assert.Throws<HostCallRejectedException>(() => FetchFrames.ReadRequest(Json(arguments)));
        Assert.Equal("TypeError", e.ErrorName);
        Assert.Equal("Failed to fetch", e.Message);
    }

    [Fact]
    public void The_answer_shape_is_written()
    {
        var node = FetchFrames.WriteResponse(new FetchResponse(201, "Created", [new("content-type", "text/plain"), new("x-a", "1")], new byte[] { 104, 105 }));
        Assert.Equal("""{"status":201,"statusText":"Created","headers":[["content-type","text/plain"],["x-a","1"]],"body":"aGk="}""", node.ToJsonString());
    }
}
