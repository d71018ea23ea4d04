using System.Globalization;

namespace Jellyscale.Core.Streaming;

/// <summary>The kinds of file a stream URL may name.</summary>
public enum StreamFileKind
{
    /// <summary><c>master.m3u8</c>.</summary>
    MasterPlaylist,

    /// <summary><c>main.m3u8</c>.</summary>
    MediaPlaylist,

    /// <summary><c>init.mp4</c>, the fMP4 initialization segment.</summary>
    InitSegment,

    /// <summary><c>{n}.ts</c> or <c>{n}.m4s</c>.</summary>
    Segment,
}

/// <summary>
/// A file name from a stream URL, parsed against a closed list of shapes. The name never becomes a
/// path: segments are located by the engine from (job id, index).
/// </summary>
/// <param name="Kind">The kind.</param>
/// <param name="Index">The segment index (segments only).</param>
/// <param name="Extension">The extension: m3u8, mp4, ts or m4s.</param>
public readonly record struct StreamFile(StreamFileKind Kind, int Index, string Extension)
{
    /// <summary>Largest index accepted before the job's own segment count is known (a 4 s segment: ~46 days).</summary>
    public const int MaxIndex = 999_999;

    /// <summary>Parses a file name.</summary>
    /// <param name="name">The last URL path segment.</param>
    /// <param name="file">The parsed file.</param>
    /// <returns>True when the name is one of the accepted shapes.</returns>
    public static bool TryParse(string? name, out StreamFile file)
    {
        file = default;
        switch (name)
        {
            case "master.m3u8":
                file = new StreamFile(StreamFileKind.MasterPlaylist, 0, "m3u8");
                return true;
            case "main.m3u8":
                file = new StreamFile(StreamFileKind.MediaPlaylist, 0, "m3u8");
                return true;
            case "init.mp4":
                file = new StreamFile(StreamFileKind.InitSegment, 0, "mp4");
                return true;
            case null:
                return false;
        }

        var dot = name.IndexOf('.', System.StringComparison.Ordinal);
        if (dot is < 1 or > 6)
        {
            return false;
        }

        var extension = name[(dot + 1)..];
        if (extension is not ("ts" or "m4s"))
        {
            return false;
        }

        var digits = name[..dot];
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        // "007.ts" would alias "7.ts"; the engine never writes leading zeros.
        if (digits.Length > 1 && digits[0] == '0')
        {
            return false;
        }

        var index = int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        file = new StreamFile(StreamFileKind.Segment, index, extension);
        return true;
    }

    /// <summary>The MIME type to serve this file with.</summary>
    /// <returns>The MIME type.</returns>
    public string ContentType() => Extension switch
    {
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        _ => "video/mp4",
    };
}
