using System;
using System.IO;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Native;
using Jellyscale.Plugin.Configuration;
using MediaBrowser.Common.Configuration;
using MediaBrowser.Controller.MediaEncoding;
using Microsoft.Extensions.Logging;

namespace Jellyscale.Plugin.Engine;

/// <summary>Creates the real engine inside Jellyfin: libjellyscale.so beside the plugin DLL, Jellyfin's paths and ffmpeg.</summary>
internal sealed class JellyfinEngineFactory
{
    private readonly IApplicationPaths _paths;
    private readonly IMediaEncoder _mediaEncoder;
    private readonly IConfigurationManager _configurationManager;
    private readonly IPluginConfigurationAccessor _configuration;
    private readonly ILoggerFactory _loggers;

    public JellyfinEngineFactory(IApplicationPaths paths, IMediaEncoder mediaEncoder, IConfigurationManager configurationManager, IPluginConfigurationAccessor configuration, ILoggerFactory loggers)
    {
        _paths = paths;
        _mediaEncoder = mediaEncoder;
        _configurationManager = configurationManager;
        _configuration = configuration;
        _loggers = loggers;
    }

    /// <summary>The library shipped in the plugin's folder.</summary>
    public static string LibraryPath
        => Path.Combine(Path.GetDirectoryName(typeof(Plugin).Assembly.Location) ?? AppContext.BaseDirectory, "libjellyscale.so");

    public IStreamEngine Create()
    {
        var encoding = _configurationManager.GetEncodingOptions();
        var defaults = new JellyfinDefaults(
            _paths.DataPath,
            _paths.CachePath,
            _mediaEncoder.EncoderPath,
            _mediaEncoder.ProbePath,
            encoding.HardwareAccelerationType.ToString(),
            encoding.VaapiDevice);
        NativeLog.Logger = _loggers.CreateLogger("Jellyscale.Engine");
        return JellyscaleEngine.Create(LibraryPath, EngineSettings.Build(_configuration.Current, defaults));
    }
}
