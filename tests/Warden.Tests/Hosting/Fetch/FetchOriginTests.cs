using Warden.Hosting.Fetch;

namespace Warden.Tests.Hosting.Fetch;

/// <summary>The host's reading of a request href (design §3 round-trip) and the validation of an operator's grant (§2).</summary>
public sealed class FetchOriginTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080/", "http://127.0.0.1:8080", "/")]
    [InlineData("https://example.com/a/b?c=d", "https://example.com", "/a/b?c=d")]
    [InlineData("https://example.com:8443/x", "https://example.com:8443", "/x")]
    [InlineData("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080", "/x")]
    [InlineData("http://[::1]:9000/", "http://[::1]:9000", "/")]
    [InlineData("http://[2001:db8::1:0:0:1]/", "http://[2001:db8::1:0:0:1]", "/")] // WHATWG compresses the first longest run
    [InlineData("http://[2001:db8:0:1:1:1:1:1]/", "http://[2001:db8:0:1:1:1:1:1]", "/")] // and never a single zero
    [InlineData("http://example.com./", "http://example.com.", "/")]
    [InlineData("http://xn--exmple-cua.com/", "http://xn--exmple-cua.com", "/")]
    // WHATWG keeps these in path and query; they must go out byte for byte.
    [InlineData("http://example.com/%41/%7e/|/%/x?q={a}|^`\\&b=%zz", "http://example.com", "/%41/%7e/|/%/x?q={a}|^`\\&b=%zz")]
    public void A_WHATWG_href_is_read_with_its_origin_and_path_verbatim(string href, string origin, string pathAndQuery)
    {
        Assert.True(FetchOrigin.TryReadRequestUrl(href, out Uri uri, out string read));
        Assert.Equal(origin, read);
        Assert.Equal(pathAndQuery, uri.PathAndQuery);
    }

    [Theory]
    [InlineData("http://127.0.0.1.:8080/")]          // WHATWG never serialises this (it is 127.0.0.1); Uri reads a Dns name
    [InlineData("http:\\\\127.0.0.1\\x")]
    [InlineData("http:/127.0.0.1/")]
    [InlineData("http://127.0.0.1:8080/#frag")]
    [InlineData("http://127.0.0.1:8080/a b")]
    [InlineData("http://127.0.0.1:8080/\ta")]
    [InlineData("http://127.0.0.1:8080/é")]
    [InlineData("http://①②⑦.0.0.1/")]
    [InlineData("http://ℯxample.com/")]
    [InlineData("http://%31%32%37.0.0.1/")]
    [InlineData("http://ex%41mple.com/")]
    [InlineData("http://u:p@127.0.0.1:8080/")]
    [InlineData("http://127.0.0.1:8080@evil.test/")]
    [InlineData("http://evil.com\\@127.0.0.1/")]
    [InlineData("http://[::ffff:127.0.0.1]:8080/")]
    [InlineData("http://[::ffff:7f00:1]:8080/")]
    [InlineData("http://[::1.2.3.4]/")]
    [InlineData("http://[fe80::1%25eth0]/")]
    [InlineData("http://1.2.3.4.5/")]
    [InlineData("http://example.0x10/")]
    [InlineData("http://09.1/")]
    [InlineData("http://_x.test/")]
    [InlineData("HTTP://127.0.0.1:8080/")]
    [InlineData("http://127.0.0.1:8080")]              // no path: WHATWG always serialises one
    [InlineData("http://127.0.0.1:08080/")]
    [InlineData("http://example.com:80/")]             // WHATWG drops a default port
    [InlineData("https://example.com:443/")]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://example.com/")]
    [InlineData("data:text/plain,hi")]
    [InlineData("/relative")]
    [InlineData("")]
    public void A_forged_or_ambiguous_href_is_refused(string href) =>
        Assert.False(FetchOrigin.TryReadRequestUrl(href, out _, out _));

    [Fact]
    public void An_href_longer_than_the_cap_is_refused()
    {
        string href = "http://example.com/" + new string('a', FetchOrigin.MaxUrlChars);
        Assert.False(FetchOrigin.TryReadRequestUrl(href, out _, out _));
        Assert.True(FetchOrigin.TryReadRequestUrl(href[..FetchOrigin.MaxUrlChars], out _, out _));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080")]
    [InlineData("http://127.0.0.1:8080/", "http://127.0.0.1:8080")]
    [InlineData("HTTPS://API.Example.COM/", "https://api.example.com")]
    [InlineData("http://127.1:8080", "http://127.0.0.1:8080")]
    [InlineData("http://2130706433:8080", "http://127.0.0.1:8080")]
    [InlineData("https://example.com:443", "https://example.com")]
    [InlineData("http://example.com:8080", "http://example.com:8080")]
    [InlineData("http://[::1]:9000", "http://[::1]:9000")]
    [InlineData("http://[2001:DB8:0:0:0:0:0:1]", "http://[2001:db8::1]")]
    [InlineData("http://[2001:db8:0:0:1:0:0:1]", "http://[2001:db8::1:0:0:1]")]
    [InlineData("https://xn--exmple-cua.com", "https://xn--exmple-cua.com")]
    public void A_good_grant_is_made_canonical_as_a_request_URL_reads_it(string grant, string canonical)
    {
        Assert.True(FetchOrigin.TryParseGrant(grant, out string origin, out string? problem), problem);
        Assert.Equal(canonical, origin);
        Assert.True(FetchOrigin.TryReadRequestUrl(origin + "/some/path?q", out _, out string read));
        Assert.Equal(origin, read);
    }

    [Theory]
    [InlineData("http://u:p@example.com", "user information")]
    [InlineData("http://example.com/api", "path")]
    [InlineData("http://example.com/?q=1", "query or fragment")]
    [InlineData("http://example.com/#f", "query or fragment")]
    [InlineData("ftp://example.com", "only http and https")]
    [InlineData("file:///etc", "only http and https")]
    [InlineData("http://exämple.com", "punycode")]
    [InlineData("http://exa mple.com", "printable ASCII")]
    [InlineData("http://[fe80::1%25eth0]", "zone id")]
    [InlineData("http://1.2.3.4.5", "canonical IPv4")]
    [InlineData("http://example.0x10", "canonical IPv4")]
    [InlineData("http://[::ffff:127.0.0.1]", "IPv4 address written as IPv6")]
    [InlineData("http://[::1.2.3.4]", "IPv4 address written as IPv6")]
    [InlineData("http://0.0.0.0:8080", "0.0.0.0")]
    [InlineData("http://0:8080", "0.0.0.0")]
    [InlineData("http://[::]:8080", "::")]
    [InlineData("http://224.0.0.1", "multicast")]
    [InlineData("http://[ff02::1]", "multicast")]
    [InlineData("http://255.255.255.255", "broadcast")]
    [InlineData("http://localhost:8080", "grant http://127.0.0.1:PORT")]
    [InlineData("http://LOCALHOST.:8080", "grant http://127.0.0.1:PORT")]
    [InlineData("http://api.localhost", "grant http://127.0.0.1:PORT")]
    [InlineData("example.com", "absolute URL")]
    [InlineData("", "empty")]
    public void A_bad_grant_is_refused_saying_why(string grant, string reason)
    {
        Assert.False(FetchOrigin.TryParseGrant(grant, out _, out string? problem));
        Assert.Contains(reason, problem);
    }
}
