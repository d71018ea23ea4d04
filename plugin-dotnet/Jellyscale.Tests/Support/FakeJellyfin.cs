using System;
using System.Collections.Generic;
using MediaBrowser.Common.Configuration;
using MediaBrowser.Controller.Library;
using MediaBrowser.Controller.Session;
using MediaBrowser.Model.Entities;
using MediaBrowser.Model.Serialization;

namespace Jellyscale.Tests.Support;

/// <summary>Jellyfin's paths under a test folder.</summary>
public sealed class FakeApplicationPaths : IApplicationPaths
{
    public FakeApplicationPaths(string root)
    {
        ProgramDataPath = root;
    }

    public string ProgramDataPath { get; }

    public string DataPath => System.IO.Path.Combine(ProgramDataPath, "data");

    public string CachePath => System.IO.Path.Combine(ProgramDataPath, "cache");

    public string PluginsPath => System.IO.Path.Combine(ProgramDataPath, "plugins");

    public string PluginConfigurationsPath => System.IO.Path.Combine(PluginsPath, "configurations");
}

public sealed class FakeXmlSerializer : IXmlSerializer
{
}

/// <summary>Raises Jellyfin's playback events on demand.</summary>
public sealed class FakeSessionManager : ISessionManager
{
    public event EventHandler<PlaybackProgressEventArgs>? PlaybackProgress;

    public event EventHandler<PlaybackStopEventArgs>? PlaybackStopped;

    public void Progress(string playSessionId) => PlaybackProgress?.Invoke(this, new PlaybackProgressEventArgs { PlaySessionId = playSessionId });

    public void Stop(string playSessionId) => PlaybackStopped?.Invoke(this, new PlaybackStopEventArgs { PlaySessionId = playSessionId });
}

public sealed class FakeLibraryManager : ILibraryManager
{
    public List<VirtualFolderInfo> Folders { get; } = new();

    public List<VirtualFolderInfo> GetVirtualFolders() => Folders;
}
