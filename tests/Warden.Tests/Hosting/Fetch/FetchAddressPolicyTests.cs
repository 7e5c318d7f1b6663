using System.Net;
using Warden.Hosting.Fetch;

namespace Warden.Tests.Hosting.Fetch;

/// <summary>The address classifier for granted hostnames (design §2): parsed bytes, IPv4 deny list, IPv6 allow list.</summary>
public sealed class FetchAddressPolicyTests
{
    public static TheoryData<string> Refused => new()
    {
        // design §7 row 5
        "127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0", "169.254.169.254", "100.100.100.200", "fd00:ec2::254",
        "64:ff9b::7f00:1", "2002:7f00:1::", "2001::80ff:fffe",
        // IPv4 deny list
        "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "169.254.170.2",
        "192.0.0.192", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "198.19.255.255", "192.88.99.1",
        "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "168.63.129.16", "0.1.2.3",
        // IPv6: outside 2000::/3, special blocks, forms carrying an IPv4
        "::", "::1.2.3.4", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "fc00::1", "fd20:ce::254", "fe80::1", "fec0::1",
        "ff02::1", "100::1", "64:ff9b:1::1", "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "2002:a9fe:a9fe::", "2001::5601:5601",
        "2001:db8::1", "3fff::1", "2001:10::1",
    };

    public static TheoryData<string> Public => new()
    {
        "8.8.8.8", "1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1", "168.63.129.17", "223.255.255.254",
        "2606:4700:4700::1111", "2a00:1450:4001:82a::200e", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808",
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_special_address_is_not_public(string text) =>
        Assert.False(FetchAddressPolicy.IsPublic(IPAddress.Parse(text)), text);

    [Theory]
    [MemberData(nameof(Public))]
    public void A_public_address_is_public(string text) =>
        Assert.True(FetchAddressPolicy.IsPublic(IPAddress.Parse(text)), text);

    [Fact]
    public void A_scope_id_makes_any_IPv6_address_not_public()
    {
        var scoped = new IPAddress(IPAddress.Parse("2606:4700:4700::1111").GetAddressBytes(), scopeid: 2);
        Assert.False(FetchAddressPolicy.IsPublic(scoped));
    }

    [Theory]
    [InlineData("127.1")]
    [InlineData("2130706433")]
    [InlineData("0x7f.1")]
    [InlineData("0177.0.0.1")]
    public void Every_IPv4_spelling_of_loopback_is_the_same_bytes_and_refused(string spelling) =>
        Assert.False(FetchAddressPolicy.IsPublic(IPAddress.Parse(spelling)));
}
