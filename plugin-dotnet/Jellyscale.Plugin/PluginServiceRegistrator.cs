using System;
using Jellyscale.Core.Engine;
using Jellyscale.Plugin.Configuration;
using Jellyscale.Plugin.Engine;
using Jellyscale.Plugin.Lifetime;
using MediaBrowser.Controller;
using MediaBrowser.Controller.Plugins;
using Microsoft.Extensions.DependencyInjection;

namespace Jellyscale.Plugin;

/// <summary>Registers the plugin's services with Jellyfin.</summary>
public sealed class PluginServiceRegistrator : IPluginServiceRegistrator
{
    /// <inheritdoc />
    public void RegisterServices(IServiceCollection serviceCollection, IServerApplicationHost applicationHost)
    {
        serviceCollection.AddSingleton<IPluginConfigurationAccessor, PluginConfigurationAccessor>();
        serviceCollection.AddSingleton<JellyfinEngineFactory>();
        serviceCollection.AddSingleton<IStreamEngineProvider>(sp => new LazyEngineProvider(
            sp.GetRequiredService<JellyfinEngineFactory>().Create,
            sp.GetRequiredService<TimeProvider>()));
        serviceCollection.AddJellyscalePlayback();
        serviceCollection.AddHostedService<PlaybackSessionWatcher>();
        serviceCollection.AddHostedService<JobHousekeeper>();
    }
}
