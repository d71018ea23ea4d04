using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Lifetime;
using MediaBrowser.Controller.Library;
using MediaBrowser.Controller.Session;
using Microsoft.Extensions.Hosting;

namespace Jellyscale.Plugin.Lifetime;

/// <summary>Feeds Jellyfin's playback progress and stop reports into <see cref="PlaybackLifetime"/>.</summary>
internal sealed class PlaybackSessionWatcher : IHostedService
{
    private readonly ISessionManager _sessions;
    private readonly PlaybackLifetime _lifetime;

    public PlaybackSessionWatcher(ISessionManager sessions, PlaybackLifetime lifetime)
    {
        _sessions = sessions;
        _lifetime = lifetime;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _sessions.PlaybackProgress += OnProgress;
        _sessions.PlaybackStopped += OnStopped;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _sessions.PlaybackProgress -= OnProgress;
        _sessions.PlaybackStopped -= OnStopped;
        return Task.CompletedTask;
    }

    private void OnProgress(object? sender, PlaybackProgressEventArgs e) => _lifetime.Ping(e.PlaySessionId);

    private void OnStopped(object? sender, PlaybackStopEventArgs e) => _lifetime.Stop(e.PlaySessionId);
}
