using System;

namespace Jellyscale.Core.Playback;

/// <summary>Builds the server-relative TranscodingUrl clients are sent to.</summary>
public static class StreamUrl
{
    /// <summary>The route prefix of the HLS controller.</summary>
    public const string RoutePrefix = "Jellyscale/Streams";

    /// <summary>
    /// <c>/Jellyscale/Streams/{jobId}/master.m3u8?PlaySessionId=..&amp;ApiKey=..</c>, without BaseUrl:
    /// Jellyfin clients prepend the server address (and BaseUrl) to TranscodingUrl themselves.
    /// </summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="playSessionId">The play session id, if any.</param>
    /// <param name="apiKey">The caller's access token, if any.</param>
    /// <returns>The URL.</returns>
    public static string Master(string jobId, string? playSessionId, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var url = $"/{RoutePrefix}/{jobId}/master.m3u8";
        var separator = '?';
        if (!string.IsNullOrEmpty(playSessionId))
        {
            url += separator + "PlaySessionId=" + Uri.EscapeDataString(playSessionId);
            separator = '&';
        }

        if (!string.IsNullOrEmpty(apiKey))
        {
            url += separator + "ApiKey=" + Uri.EscapeDataString(apiKey);
        }

        return url;
    }
}
