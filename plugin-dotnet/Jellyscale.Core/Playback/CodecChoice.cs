using System;
using System.Collections.Generic;

namespace Jellyscale.Core.Playback;

/// <summary>How the admin wants the output codec chosen.</summary>
public enum CodecPolicy
{
    /// <summary>HEVC where the client's profile takes HEVC over HLS, else H.264.</summary>
    FollowClient,

    /// <summary>Always H.264 (plays everywhere).</summary>
    AlwaysH264,
}

/// <summary>The output format chosen for a client.</summary>
/// <param name="Codec">Engine codec name: h264 or hevc.</param>
/// <param name="Container">HLS segment container: ts (H.264) or mp4 (HEVC in fMP4, hvc1).</param>
public sealed record OutputFormat(string Codec, string Container)
{
    /// <summary>H.264 in MPEG-TS: what every HLS client plays.</summary>
    public static readonly OutputFormat H264 = new("h264", "ts");

    /// <summary>HEVC in fMP4.</summary>
    public static readonly OutputFormat Hevc = new("hevc", "mp4");
}

/// <summary>Chooses the output codec from the client's device profile.</summary>
public static class CodecChoice
{
    /// <summary>
    /// HEVC only when an HLS video transcoding profile lists it with an mp4 container (Chromium's MSE
    /// cannot play HEVC, and its profile says so by leaving HEVC out) and either a hardware HEVC
    /// encoder works or the profile lacks H.264: HEVC on the CPU is x265, several times slower than
    /// x264, so a client that plays both gets H.264 there. H.264 when an HLS video profile lists it
    /// or when no profile was posted; otherwise null (the client cannot play our HLS).
    /// </summary>
    /// <param name="profile">The client's formats, or null when the request carried no profile.</param>
    /// <param name="policy">The admin's policy.</param>
    /// <param name="hevcHardware">Whether the engine found a working hardware HEVC encoder.</param>
    /// <returns>The output format, or null when the client plays neither.</returns>
    public static OutputFormat? Choose(IReadOnlyCollection<ClientFormat>? profile, CodecPolicy policy, bool hevcHardware)
    {
        if (profile is null)
        {
            return OutputFormat.H264;
        }

        var h264 = false;
        var hevc = false;
        foreach (var format in profile)
        {
            if (!format.IsVideo || !format.IsHls)
            {
                continue;
            }

            if (ListContains(format.VideoCodecs, "h264") || ListContains(format.VideoCodecs, "avc"))
            {
                h264 = true;
            }

            if ((ListContains(format.VideoCodecs, "hevc") || ListContains(format.VideoCodecs, "h265"))
                && (ListContains(format.Container, "mp4") || ListContains(format.Container, "fmp4")))
            {
                hevc = true;
            }
        }

        if (hevc && policy == CodecPolicy.FollowClient && (hevcHardware || !h264))
        {
            return OutputFormat.Hevc;
        }

        return h264 ? OutputFormat.H264 : null;
    }

    private static bool ListContains(string? list, string item)
    {
        if (string.IsNullOrEmpty(list))
        {
            return false;
        }

        foreach (var entry in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (string.Equals(entry, item, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
