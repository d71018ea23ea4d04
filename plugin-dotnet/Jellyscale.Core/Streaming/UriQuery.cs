namespace Jellyscale.Core.Streaming;

/// <summary>The request query that every playlist URI carries (it holds ApiKey, which hls.js cannot send as a header).</summary>
public static class UriQuery
{
    /// <summary>Turns a raw query string ("?a=b" or "a=b") into the suffix for playlist URIs; anything that could break a playlist line is refused.</summary>
    /// <param name="rawQuery">The raw, still percent-encoded query.</param>
    /// <param name="query">The query without '?'.</param>
    /// <returns>False when the query holds characters a playlist line cannot carry.</returns>
    public static bool TryNormalize(string? rawQuery, out string query)
    {
        query = string.Empty;
        if (string.IsNullOrEmpty(rawQuery))
        {
            return true;
        }

        var value = rawQuery[0] == '?' ? rawQuery[1..] : rawQuery;
        foreach (var c in value)
        {
            if (c is '\r' or '\n' or '"' or '#' or ' ' || char.IsControl(c))
            {
                return false;
            }
        }

        query = value;
        return true;
    }
}
