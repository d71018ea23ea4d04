using System;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Lifetime;
using Jellyscale.Plugin.Configuration;
using Jellyscale.Plugin.Playback;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Jellyscale.Plugin;

/// <summary>The services every host of the plugin needs (Jellyfin, and the tests' ASP.NET Core hosts).</summary>
public static class ServiceRegistration
{
    /// <summary>Registers the lifetime tracker, the PlaybackInfo filter and its MVC hook.</summary>
    /// <param name="services">The services.</param>
    /// <returns>The same services.</returns>
    public static IServiceCollection AddJellyscalePlayback(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new PlaybackLifetime(
            sp.GetRequiredService<TimeProvider>(),
            TimeSpan.FromSeconds(Math.Clamp(sp.GetRequiredService<IPluginConfigurationAccessor>().Current.IdleTimeoutSeconds, 10, 3600))));
        services.TryAddSingleton<PlaybackInfoFilter>();

        // Jellyfin builds MVC before plugins run, so the filter joins through options, not AddControllers.
        services.PostConfigure<MvcOptions>(options => options.Filters.AddService<PlaybackInfoFilter>());
        return services;
    }
}
