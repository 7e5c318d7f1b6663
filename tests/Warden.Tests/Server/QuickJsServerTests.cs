namespace Warden.Tests.Server;

/// <summary>
/// The quickjs engine through <c>warden serve</c>: chosen per request (<c>"engine": "quickjs"</c>), with its fuel
/// limit and usage, its exact memory cap and its time limit on the wire, beside V8 in the same service.
/// </summary>
[Collection("sandbox")]
public sealed class QuickJsServerTests
{
    [Fact]
    public async Task ARequestPicksQuickJsAndGetsItsLimitsAndUsage()
    {
        var (app, client) = await ServerFixture.StartAsync(s => s.MaxWorkers = 2);
        await using var running = app;
        var fixture = new ServerFixture();

        var (status, body, _) = await fixture.PostAsync("""{ "code": "input.a + input.b", "input": { "a": 1, "b": 2 }, "engine": "quickjs" }""", client);
        Assert.Equal(200, status);
        Assert.Equal("quickjs", body.GetProperty("engine").GetString());
        Assert.Equal(3, body.GetProperty("result").GetInt32());
        Assert.True(body.GetProperty("usage").GetProperty("fuel").GetInt64() > 0);

        (status, body, _) = await fixture.PostAsync("""{ "code": "while (true) {}", "engine": "quickjs", "limits": { "fuel": 1000000 } }""", client);
        Assert.Equal("timeout", body.GetProperty("status").GetString());
        Assert.Equal("fuel", body.GetProperty("error").GetProperty("limit").GetString());
        Assert.Equal(1_000_000, body.GetProperty("usage").GetProperty("fuel").GetInt64());

        (status, body, _) = await fixture.PostAsync("""{ "code": "for (;;) {}", "engine": "quickjs", "limits": { "timeoutMs": 100 } }""", client);
        Assert.Equal("timeout", body.GetProperty("status").GetString());
        Assert.Equal("wall", body.GetProperty("error").GetProperty("limit").GetString());

        (status, body, _) = await fixture.PostAsync("""{ "code": "const a = []; for (;;) a.push('x'.repeat(1000) + a.length)", "engine": "quickjs", "limits": { "memoryMb": 16 } }""", client);
        Assert.Equal("memory_limit", body.GetProperty("status").GetString());
        Assert.True(body.GetProperty("usage").GetProperty("memoryBytes").GetInt64() <= 16 << 20);

        // V8 beside it, in the same service; fuel is refused there.
        (status, body, _) = await fixture.PostAsync("""{ "code": "1 + 1" }""", client);
        Assert.Equal("v8", body.GetProperty("engine").GetString());
        Assert.False(body.GetProperty("usage").TryGetProperty("fuel", out _));
        (status, body, _) = await fixture.PostAsync("""{ "code": "1", "limits": { "fuel": 5 } }""", client);
        Assert.Equal(400, status);
        Assert.Contains("limits.fuel", body.ToString());
        await app.StopAsync();
    }
}
