using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Warden.Tests.DependencyInjection;

/// <summary>Attacks on AddWarden's configuration: can any of it give a Sandbox that skipped validation?</summary>
public sealed class AddWardenAttackTests
{
    private static ServiceProvider Provider(Dictionary<string, string?> values, Action<IServiceCollection>? more = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection().AddWarden(configuration);
        more?.Invoke(services);
        return services.BuildServiceProvider();
    }

    [Theory]
    [InlineData("Warden:Sandbox:OsIsolation", "7", "OsIsolation")]
    [InlineData("Warden:Sandbox:OsIsolation", "-1", "OsIsolation")]
    [InlineData("Warden:Sandbox:OsIsolation", "Off", "OsIsolation")]
    [InlineData("Warden:Sandbox:MaxWorkers", "99999999999", "MaxWorkers")]
    [InlineData("Warden:Sandbox:MaxWorkers", "-3", "MaxWorkers")]
    [InlineData("Warden:Sandbox:Limits:MaxHostCalls", "-1", "MaxHostCalls")]
    [InlineData("Warden:Sandbox:Limits:MaxFetchBytesInFlight", "9223372036854775808", "MaxFetchBytesInFlight")]
    [InlineData("Warden:Sandbox:WarmIsolate:MaxAge", "-00:00:01", "MaxAge")]
    [InlineData("Warden:Sandbox:WorkerCpuCores", "NaN", "WorkerCpuCores")]
    [InlineData("Warden:Sandbox:WorkerCpuCores", "1e309", "WorkerCpuCores")]
    public async Task ResolvingTheSandboxBeforeTheHostStartsStillRefusesABadValueWithoutAStackTrace(string key, string value, string named)
    {
        await using var provider = Provider(new() { [key] = value });

        var refused = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<Sandbox>());

        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NamedOptionsAndAMisspelledKeyNeverWeakenTheSandboxsIsolation()
    {
        // A named options instance set to Disabled and a misspelled key are both ignored: the default stays Required.
        await using var provider = Provider(
            new() { ["Warden:Sandbox:OsIsolaton"] = "Disabled", ["Warden:Sandbox:MaxWorkers"] = "1", ["Warden:Sandbox:SpareWorkers"] = "0" },
            services => services.Configure<SandboxOptions>("other", o => o.OsIsolation = OsIsolationMode.Disabled));

        Assert.Equal(OsIsolationMode.Required, provider.GetRequiredService<IOptions<SandboxOptions>>().Value.OsIsolation);
    }

    [Fact]
    public async Task AReloadedConfigurationIsValidatedAgainNotCarriedOverFromTheFirstBinding()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Warden:Sandbox:MaxWorkers"] = "abc" }).Build();
        await using var provider = new ServiceCollection().AddWarden(configuration).BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<SandboxOptions>>();
        Assert.Throws<OptionsValidationException>(() => monitor.CurrentValue);

        // A second options instance built from the same bad configuration is refused too (the problems are not lost
        // by the first validation).
        var factory = provider.GetRequiredService<IOptionsFactory<SandboxOptions>>();
        Assert.Throws<OptionsValidationException>(() => factory.Create(Options.DefaultName));
    }
}
