using System;
using System.Collections.Generic;
using Jellyscale.Plugin.Configuration;
using MediaBrowser.Common.Configuration;
using MediaBrowser.Common.Plugins;
using MediaBrowser.Model.Plugins;
using MediaBrowser.Model.Serialization;

namespace Jellyscale.Plugin;

/// <summary>The Jellyscale plugin: plays an upscaled stream of a video while the upscaled file is being made.</summary>
public class Plugin : BasePlugin<PluginConfiguration>, IHasWebPages
{
    /// <summary>The plugin id (also in build.yaml, meta.json and the repository manifest).</summary>
    public static readonly Guid PluginId = new("facb9195-8c77-46ac-95e9-c2d9250c80ad");

    /// <summary>Initializes a new instance of the <see cref="Plugin"/> class.</summary>
    /// <param name="applicationPaths">Jellyfin's paths.</param>
    /// <param name="xmlSerializer">Jellyfin's XML serializer (persists the configuration).</param>
    public Plugin(IApplicationPaths applicationPaths, IXmlSerializer xmlSerializer)
        : base(applicationPaths, xmlSerializer)
    {
        Instance = this;
    }

    /// <summary>Gets the running instance; Jellyfin creates exactly one, after the services are registered.</summary>
    public static Plugin? Instance { get; private set; }

    /// <inheritdoc />
    public override string Name => "Jellyscale";

    /// <inheritdoc />
    public override Guid Id => PluginId;

    /// <inheritdoc />
    public override string Description => "Plays an upscaled stream (e.g. 1080p to 2160p) while the upscaled file is produced and saved.";

    /// <inheritdoc />
    public IEnumerable<PluginPageInfo> GetPages()
    {
        var ns = typeof(Plugin).Namespace;
        return new[]
        {
            new PluginPageInfo
            {
                Name = "Jellyscale",
                DisplayName = "Jellyscale",
                EmbeddedResourcePath = ns + ".Configuration.configPage.html",
                EnableInMainMenu = true,
                MenuIcon = "high_quality",
            },
            new PluginPageInfo
            {
                Name = "jellyscale.js",
                EmbeddedResourcePath = ns + ".Configuration.configPage.js",
            },
        };
    }
}
