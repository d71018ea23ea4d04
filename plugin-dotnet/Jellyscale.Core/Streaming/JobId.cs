namespace Jellyscale.Core.Streaming;

/// <summary>Job ids come from URLs; only the engine's exact shape (32 lowercase hex) is accepted.</summary>
public static class JobId
{
    /// <summary>Length of a job id.</summary>
    public const int Length = 32;

    /// <summary>Whether <paramref name="value"/> is a well-formed job id.</summary>
    /// <param name="value">The candidate.</param>
    /// <returns>True when well formed.</returns>
    public static bool IsValid(string? value)
    {
        if (value is null || value.Length != Length)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }
}
