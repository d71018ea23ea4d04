using System;
using System.Collections.Generic;
using MediaBrowser.Model.Entities;
using Microsoft.Extensions.DependencyInjection;

namespace MediaBrowser.Controller
{
    /// <summary>The server application host.</summary>
    public interface IServerApplicationHost
    {
    }
}

namespace MediaBrowser.Controller.Plugins
{
    /// <summary>Registers a plugin's services (needs a parameterless constructor).</summary>
    public interface IPluginServiceRegistrator
    {
        /// <summary>Registers the plugin's services.</summary>
        /// <param name="serviceCollection">The service collection.</param>
        /// <param name="applicationHost">The server application host.</param>
        void RegisterServices(IServiceCollection serviceCollection, IServerApplicationHost applicationHost);
    }
}

namespace MediaBrowser.Controller.MediaEncoding
{
    /// <summary>Jellyfin's ffmpeg front end (the members the plugin reads).</summary>
    public interface IMediaEncoder
    {
        /// <summary>Gets the ffmpeg path in use.</summary>
        string EncoderPath { get; }

        /// <summary>Gets the ffprobe path in use.</summary>
        string ProbePath { get; }
    }
}

namespace MediaBrowser.Controller.Library
{
    /// <summary>Progress of one playback.</summary>
    public class PlaybackProgressEventArgs : EventArgs
    {
        /// <summary>Gets or sets the play session id.</summary>
        public string? PlaySessionId { get; set; }

        /// <summary>Gets or sets the media source id.</summary>
        public string? MediaSourceId { get; set; }
    }

    /// <summary>End of one playback.</summary>
    public class PlaybackStopEventArgs : PlaybackProgressEventArgs
    {
    }

    /// <summary>Jellyfin's library (the members the plugin uses).</summary>
    public interface ILibraryManager
    {
        /// <summary>Gets the libraries.</summary>
        /// <returns>The libraries.</returns>
        List<VirtualFolderInfo> GetVirtualFolders();
    }
}

namespace MediaBrowser.Controller.Session
{
    using MediaBrowser.Controller.Library;

    /// <summary>Jellyfin's session manager (the events the plugin listens to).</summary>
    public interface ISessionManager
    {
        /// <summary>Raised on playback progress reports and pings.</summary>
        event EventHandler<PlaybackProgressEventArgs>? PlaybackProgress;

        /// <summary>Raised when playback stops.</summary>
        event EventHandler<PlaybackStopEventArgs>? PlaybackStopped;
    }
}
