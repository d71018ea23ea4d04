namespace Jellyscale.Core.Playback;

/// <summary>How big the output should be.</summary>
public enum TargetMode
{
    /// <summary>A fixed factor (2x), capped at <see cref="UpscaleTarget.MaxHeight"/>.</summary>
    Scale,

    /// <summary>Exactly up to <see cref="UpscaleTarget.MaxHeight"/> lines.</summary>
    MaxHeight,
}

/// <summary>The admin's target size.</summary>
/// <param name="Mode">The mode.</param>
/// <param name="ScaleFactor">The factor for <see cref="TargetMode.Scale"/>.</param>
/// <param name="MaxHeight">The height cap (both modes).</param>
public sealed record UpscaleTarget(TargetMode Mode, int ScaleFactor, int MaxHeight)
{
    /// <summary>The output height for a source height (even, as encoders need).</summary>
    /// <param name="sourceHeight">The source height.</param>
    /// <returns>The output height.</returns>
    public int OutputHeight(int sourceHeight)
    {
        var height = Mode == TargetMode.Scale
            ? System.Math.Min((long)sourceHeight * System.Math.Max(1, ScaleFactor), MaxHeight)
            : MaxHeight;
        return (int)(height - (height % 2));
    }
}
