using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Warden;
using Warden.DependencyInjection;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers Warden's <see cref="Sandbox"/> in a service collection: one sandbox (one worker pool) per
/// application, built from <see cref="SandboxOptions"/> configured through the options system and
/// validated when the host starts.
/// </summary>
public static class WardenServiceCollectionExtensions
{
    /// <summary>The configuration section <see cref="AddWarden(IServiceCollection, IConfiguration, Action{SandboxOptions}?)"/> binds (the one <c>warden serve</c> reads).</summary>
    public const string SandboxSection = "Warden:Sandbox";

    /// <summary>
    /// Adds a singleton <see cref="Sandbox"/> whose options <paramref name="configure"/> sets. The options are
    /// validated when the host starts (<c>ValidateOnStart</c>), every problem listed in one
    /// <see cref="OptionsValidationException"/>; the sandbox logs through <see cref="ILogger{Sandbox}"/> when logging is registered.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the sandbox's options.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddWarden(this IServiceCollection services, Action<SandboxOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        AddSandbox(services).Configure(configure);
        return services;
    }

    /// <summary>
    /// Adds a singleton <see cref="Sandbox"/> whose options are bound from the <c>Warden:Sandbox</c> section
    /// (<see cref="SandboxSection"/>) of <paramref name="configuration"/> (the application's root configuration), then
    /// changed by <paramref name="configure"/> when given. A value the options refuse while being bound is reported
    /// with the other problems when the options are validated, not as a crash of the binder.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration whose <c>Warden:Sandbox</c> section holds the options.</param>
    /// <param name="configure">Changes the options after binding; optional.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddWarden(this IServiceCollection services, IConfiguration configuration, Action<SandboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = AddSandbox(services);
        // Registered before configure's action: the options factory runs them in registration order.
        services.AddSingleton<IConfigureOptions<SandboxOptions>>(provider =>
            new SandboxOptionsBinder(configuration.GetSection(SandboxSection), provider.GetRequiredService<SandboxBindingProblems>()));
        if (configure is not null)
        {
            options.Configure(configure);
        }
        return services;
    }

    private static OptionsBuilder<SandboxOptions> AddSandbox(IServiceCollection services)
    {
        services.TryAddSingleton<SandboxBindingProblems>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SandboxOptions>, SandboxOptionsValidator>());
        services.TryAddSingleton(provider => new Sandbox(
            provider.GetRequiredService<IOptions<SandboxOptions>>().Value,
            provider.GetService<ILogger<Sandbox>>()));
        return services.AddOptions<SandboxOptions>().ValidateOnStart();
    }
}
