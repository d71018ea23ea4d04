using System;
using MediaBrowser.Model.Configuration;
using MediaBrowser.Model.Plugins;
using MediaBrowser.Model.Serialization;

namespace MediaBrowser.Common.Configuration
{
    /// <summary>Jellyfin's well-known folders (the members the plugin reads).</summary>
    public interface IApplicationPaths
    {
        /// <summary>Gets the program data path.</summary>
        string ProgramDataPath { get; }

        /// <summary>Gets the data path.</summary>
        string DataPath { get; }

        /// <summary>Gets the cache path.</summary>
        string CachePath { get; }

        /// <summary>Gets the plugins path.</summary>
        string PluginsPath { get; }

        /// <summary>Gets the plugin configurations path.</summary>
        string PluginConfigurationsPath { get; }
    }

    /// <summary>Jellyfin's configuration manager.</summary>
    public interface IConfigurationManager
    {
        /// <summary>Gets a named configuration section.</summary>
        /// <param name="key">The key.</param>
        /// <returns>The section.</returns>
        object GetConfiguration(string key);
    }

    /// <summary>Encoding configuration helpers.</summary>
    public static class EncodingConfigurationExtensions
    {
        /// <summary>Gets the encoding options.</summary>
        /// <param name="configurationManager">The configuration manager.</param>
        /// <returns>The encoding options.</returns>
        public static EncodingOptions GetEncodingOptions(this IConfigurationManager configurationManager)
            => (EncodingOptions)configurationManager.GetConfiguration("encoding");
    }
}

namespace MediaBrowser.Common.Plugins
{
    using MediaBrowser.Common.Configuration;

    /// <summary>Base of every plugin.</summary>
    public abstract class BasePlugin
    {
        /// <summary>Gets the name.</summary>
        public abstract string Name { get; }

        /// <summary>Gets the description.</summary>
        public virtual string Description => string.Empty;

        /// <summary>Gets the id.</summary>
        public virtual Guid Id { get; }

        /// <summary>Gets the version.</summary>
        public Version Version { get; } = new Version(0, 0, 0, 0);

        /// <summary>Gets the path of the plugin's assembly.</summary>
        public string AssemblyFilePath { get; } = string.Empty;

        /// <summary>Gets the plugin's data folder.</summary>
        public string DataFolderPath { get; } = string.Empty;
    }

    /// <summary>Base of a plugin with an XML-persisted configuration.</summary>
    /// <typeparam name="TConfigurationType">The configuration type.</typeparam>
    public abstract class BasePlugin<TConfigurationType> : BasePlugin
        where TConfigurationType : BasePluginConfiguration
    {
        private TConfigurationType? _configuration;

        /// <summary>Initializes a new instance of the <see cref="BasePlugin{TConfigurationType}"/> class.</summary>
        /// <param name="applicationPaths">The application paths.</param>
        /// <param name="xmlSerializer">The XML serializer.</param>
        protected BasePlugin(IApplicationPaths applicationPaths, IXmlSerializer xmlSerializer)
        {
            ApplicationPaths = applicationPaths;
            XmlSerializer = xmlSerializer;
        }

        /// <summary>Raised after the configuration was replaced.</summary>
        public event EventHandler<BasePluginConfiguration>? ConfigurationChanged;

        /// <summary>Gets the application paths.</summary>
        protected IApplicationPaths ApplicationPaths { get; }

        /// <summary>Gets the XML serializer.</summary>
        protected IXmlSerializer XmlSerializer { get; }

        /// <summary>Gets the configuration.</summary>
        public TConfigurationType Configuration
        {
            get => _configuration ??= Activator.CreateInstance<TConfigurationType>();
            protected set => _configuration = value;
        }

        /// <summary>Saves the configuration.</summary>
        public virtual void SaveConfiguration()
        {
        }

        /// <summary>Replaces the configuration.</summary>
        /// <param name="configuration">The new configuration.</param>
        public virtual void UpdateConfiguration(BasePluginConfiguration configuration)
        {
            Configuration = (TConfigurationType)configuration;
            ConfigurationChanged?.Invoke(this, configuration);
        }
    }
}
