using System;
using System.Collections.Generic;
using System.Reflection;
using System.Security.Claims;
using Jellyscale.Core.Playback;
using MediaBrowser.Model.Dlna;

namespace Jellyscale.Plugin.Playback;

/// <summary>
/// Reads what the filter needs from a PlaybackInfo call. The POST body type (PlaybackInfoDto) lives in
/// Jellyfin.Api, which is not a package plugins can reference, so its members are found by name.
/// </summary>
internal static class PlaybackRequestReader
{
    /// <summary>Jellyfin's claim types (Jellyfin.Api InternalClaimTypes).</summary>
    internal const string UserIdClaim = "Jellyfin-UserId";

    /// <summary>The access token claim.</summary>
    internal const string TokenClaim = "Jellyfin-Token";

    /// <summary>The posted device profile, if any.</summary>
    /// <param name="arguments">The action arguments.</param>
    /// <returns>The profile.</returns>
    public static DeviceProfile? DeviceProfile(IDictionary<string, object?> arguments)
    {
        foreach (var value in arguments.Values)
        {
            if (value is DeviceProfile profile)
            {
                return profile;
            }

            if (Member(value, "DeviceProfile") is DeviceProfile nested)
            {
                return nested;
            }
        }

        return null;
    }

    /// <summary>A flag from the query (GET) or the body (POST), e.g. enableTranscoding.</summary>
    /// <param name="arguments">The action arguments.</param>
    /// <param name="name">The parameter name.</param>
    /// <returns>The value, or null when absent.</returns>
    public static bool? Flag(IDictionary<string, object?> arguments, string name) => Value<bool>(arguments, name);

    /// <summary>A number from the query (GET) or the body (POST), e.g. audioStreamIndex.</summary>
    /// <param name="arguments">The action arguments.</param>
    /// <param name="name">The parameter name.</param>
    /// <returns>The value, or null when absent.</returns>
    public static int? Number(IDictionary<string, object?> arguments, string name) => Value<int>(arguments, name);

    /// <summary>A 64-bit number from the query (GET) or the body (POST), e.g. startTimeTicks.</summary>
    /// <param name="arguments">The action arguments.</param>
    /// <param name="name">The parameter name.</param>
    /// <returns>The value, or null when absent.</returns>
    public static long? LongNumber(IDictionary<string, object?> arguments, string name) => Value<long>(arguments, name);

    /// <summary>Maps a device profile to the formats codec choice looks at.</summary>
    /// <param name="profile">The profile.</param>
    /// <returns>The formats, or null without a profile.</returns>
    public static IReadOnlyCollection<ClientFormat>? Formats(DeviceProfile? profile)
    {
        if (profile is null)
        {
            return null;
        }

        var formats = new List<ClientFormat>();
        foreach (var transcoding in profile.TranscodingProfiles ?? Array.Empty<TranscodingProfile>())
        {
            formats.Add(new ClientFormat(
                transcoding.Type == DlnaProfileType.Video,
                string.Equals(transcoding.Protocol.ToString(), "hls", StringComparison.OrdinalIgnoreCase),
                transcoding.Container,
                transcoding.VideoCodec));
        }

        return formats;
    }

    /// <summary>The caller's Jellyfin user id.</summary>
    /// <param name="user">The principal.</param>
    /// <returns>The id, or null.</returns>
    public static Guid? UserId(ClaimsPrincipal user)
        => Guid.TryParse(user.FindFirst(UserIdClaim)?.Value, out var id) ? id : null;

    /// <summary>The caller's access token, for the ApiKey query hls.js needs.</summary>
    /// <param name="user">The principal.</param>
    /// <returns>The token, or null.</returns>
    public static string? Token(ClaimsPrincipal user) => user.FindFirst(TokenClaim)?.Value;

    // The body wins over the (obsolete) query parameter, as in Jellyfin's own GetPostedPlaybackInfo.
    private static T? Value<T>(IDictionary<string, object?> arguments, string name)
        where T : struct
    {
        foreach (var value in arguments.Values)
        {
            if (value is not null && value.GetType().IsClass && value is not string && Member(value, name) is T nested)
            {
                return nested;
            }
        }

        foreach (var (key, value) in arguments)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase) && value is T direct)
            {
                return direct;
            }
        }

        return null;
    }

    private static object? Member(object? owner, string name)
    {
        if (owner is null || owner is string || owner.GetType().IsPrimitive)
        {
            return null;
        }

        var property = owner.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        return property is { CanRead: true } && property.GetIndexParameters().Length == 0 ? property.GetValue(owner) : null;
    }
}
