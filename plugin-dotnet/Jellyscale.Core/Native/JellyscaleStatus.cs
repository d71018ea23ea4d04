namespace Jellyscale.Core.Native;

/// <summary>Status codes returned by every libjellyscale function (uint32 in the C ABI).</summary>
public enum JellyscaleStatus : uint
{
    /// <summary>Success.</summary>
    Ok = 0,

    /// <summary>A parameter was null, malformed or out of range.</summary>
    InvalidArgument = 1,

    /// <summary>The job or file does not exist.</summary>
    NotFound = 2,

    /// <summary>The input media cannot be used.</summary>
    BadInput = 3,

    /// <summary>ffmpeg or ffprobe failed.</summary>
    Ffmpeg = 4,

    /// <summary>Too many jobs queued.</summary>
    Busy = 5,

    /// <summary>A file system operation failed.</summary>
    Io = 6,

    /// <summary>A wait ran out of time.</summary>
    Timeout = 7,

    /// <summary>The job was cancelled.</summary>
    Cancelled = 8,

    /// <summary>The engine is being freed.</summary>
    ShuttingDown = 9,

    /// <summary>A bug in the library (including a caught panic).</summary>
    Internal = 99,
}
