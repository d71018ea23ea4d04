namespace Jellyscale.Plugin.Configuration;

/// <summary>Reads the current configuration (Jellyfin replaces the object when the admin saves).</summary>
public interface IPluginConfigurationAccessor
{
    /// <summary>Gets the current configuration.</summary>
    PluginConfiguration Current { get; }
}

/// <summary>The configuration of the running <see cref="Plugin"/>.</summary>
internal sealed class PluginConfigurationAccessor : IPluginConfigurationAccessor
{
    /// <inheritdoc />
    public PluginConfiguration Current => Plugin.Instance?.Configuration ?? new PluginConfiguration();
}
