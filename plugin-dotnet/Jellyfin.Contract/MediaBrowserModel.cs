using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Jellyfin.Data.Enums;
using MediaBrowser.Model.Dto;
using MediaBrowser.Model.Entities;

namespace MediaBrowser.Model.Plugins
{
    /// <summary>Base class of every plugin configuration (serialized to XML by Jellyfin).</summary>
    public class BasePluginConfiguration
    {
    }

    /// <summary>Implemented by plugins that contribute dashboard pages.</summary>
    public interface IHasWebPages
    {
        /// <summary>Gets the pages.</summary>
        /// <returns>The pages.</returns>
        IEnumerable<PluginPageInfo> GetPages();
    }

    /// <summary>One embedded dashboard page.</summary>
    public class PluginPageInfo
    {
        /// <summary>Gets or sets the page name (used in the configurationpage?name= URL).</summary>
        public string Name { get; set; } = string.Empty;

        /// <summary>Gets or sets the display name.</summary>
        public string? DisplayName { get; set; }

        /// <summary>Gets or sets the manifest resource name of the page.</summary>
        public string EmbeddedResourcePath { get; set; } = string.Empty;

        /// <summary>Gets or sets a value indicating whether the page is in the main menu.</summary>
        public bool EnableInMainMenu { get; set; }

        /// <summary>Gets or sets the menu section.</summary>
        public string? MenuSection { get; set; }

        /// <summary>Gets or sets the menu icon.</summary>
        public string? MenuIcon { get; set; }
    }
}

namespace MediaBrowser.Model.Serialization
{
    /// <summary>Jellyfin's XML serializer (used by BasePlugin to persist configuration).</summary>
    public interface IXmlSerializer
    {
    }
}

namespace MediaBrowser.Model.Configuration
{
    /// <summary>Jellyfin's encoding settings (the members the plugin reads).</summary>
    public class EncodingOptions
    {
        /// <summary>Gets or sets the configured ffmpeg path.</summary>
        public string? EncoderAppPath { get; set; }

        /// <summary>Gets or sets the ffmpeg path in use.</summary>
        public string? EncoderAppPathDisplay { get; set; }

        /// <summary>Gets or sets the VA-API device.</summary>
        public string VaapiDevice { get; set; } = string.Empty;

        /// <summary>Gets or sets the hardware acceleration type.</summary>
        public MediaBrowser.Model.Entities.HardwareAccelerationType HardwareAccelerationType { get; set; }
    }
}

namespace MediaBrowser.Model.Entities
{
    /// <summary>Jellyfin's hardware acceleration kinds (10.10+ enum, lowercase on the wire).</summary>
    public enum HardwareAccelerationType
    {
        /// <summary>Software.</summary>
        none = 0,

        /// <summary>AMD AMF.</summary>
        amf = 1,

        /// <summary>Intel Quick Sync.</summary>
        qsv = 2,

        /// <summary>NVIDIA NVENC.</summary>
        nvenc = 3,

        /// <summary>Video4Linux memory-to-memory.</summary>
        v4l2m2m = 4,

        /// <summary>VA-API.</summary>
        vaapi = 5,

        /// <summary>Apple VideoToolbox.</summary>
        videotoolbox = 6,

        /// <summary>Rockchip MPP.</summary>
        rkmpp = 7,
    }

    /// <summary>Stream kinds in a media source.</summary>
    public enum MediaStreamType
    {
        /// <summary>Audio.</summary>
        Audio,

        /// <summary>Video.</summary>
        Video,

        /// <summary>Subtitle.</summary>
        Subtitle,

        /// <summary>Embedded image.</summary>
        EmbeddedImage,

        /// <summary>Data.</summary>
        Data,

        /// <summary>Lyric.</summary>
        Lyric,
    }

    /// <summary>One stream of a media source.</summary>
    public class MediaStream
    {
        /// <summary>Gets or sets the codec.</summary>
        public string? Codec { get; set; }

        /// <summary>Gets or sets the stream type.</summary>
        public MediaStreamType Type { get; set; }

        /// <summary>Gets or sets the absolute stream index.</summary>
        public int Index { get; set; }

        /// <summary>Gets or sets a value indicating whether this is the default stream.</summary>
        public bool IsDefault { get; set; }

        /// <summary>Gets or sets a value indicating whether the stream is an external file.</summary>
        public bool IsExternal { get; set; }

        /// <summary>Gets or sets the width.</summary>
        public int? Width { get; set; }

        /// <summary>Gets or sets the height.</summary>
        public int? Height { get; set; }

        /// <summary>Gets or sets the bit depth.</summary>
        public int? BitDepth { get; set; }

        /// <summary>Gets or sets the pixel format (ffprobe's pix_fmt).</summary>
        public string? PixelFormat { get; set; }

        /// <summary>Gets or sets the average frame rate.</summary>
        public float? AverageFrameRate { get; set; }

        /// <summary>Gets or sets the real frame rate.</summary>
        public float? RealFrameRate { get; set; }

        /// <summary>Gets or sets the display rotation in degrees.</summary>
        public int? Rotation { get; set; }

        /// <summary>Gets or sets a value indicating whether the video is interlaced (a field order other than progressive).</summary>
        public bool IsInterlaced { get; set; }

        /// <summary>Gets or sets whether the video's pixels are not square.</summary>
        public bool? IsAnamorphic { get; set; }

        /// <summary>Gets or sets the audio channel count.</summary>
        public int? Channels { get; set; }

        /// <summary>Gets or sets the audio sample rate.</summary>
        public int? SampleRate { get; set; }
    }

    /// <summary>A library as configured in the dashboard.</summary>
    public class VirtualFolderInfo
    {
        /// <summary>Gets or sets the name.</summary>
        public string? Name { get; set; }

        /// <summary>Gets or sets the folder paths.</summary>
        public string[] Locations { get; set; } = Array.Empty<string>();

        /// <summary>Gets or sets the item id.</summary>
        public string? ItemId { get; set; }
    }
}

namespace MediaBrowser.Model.MediaInfo
{
    /// <summary>Where a media source lives.</summary>
    public enum MediaProtocol
    {
        /// <summary>Local file.</summary>
        File = 0,

        /// <summary>HTTP.</summary>
        Http = 1,

        /// <summary>RTMP.</summary>
        Rtmp = 2,

        /// <summary>RTSP.</summary>
        Rtsp = 3,

        /// <summary>UDP.</summary>
        Udp = 4,

        /// <summary>RTP.</summary>
        Rtp = 5,

        /// <summary>FTP.</summary>
        Ftp = 6,
    }

    /// <summary>The body of /Items/{id}/PlaybackInfo.</summary>
    public class PlaybackInfoResponse
    {
        /// <summary>Gets or sets the media sources.</summary>
        public IReadOnlyList<MediaSourceInfo> MediaSources { get; set; } = Array.Empty<MediaSourceInfo>();

        /// <summary>Gets or sets the play session id.</summary>
        public string? PlaySessionId { get; set; }
    }
}

namespace MediaBrowser.Model.Dto
{
    /// <summary>A playable source of an item (the members the plugin touches).</summary>
    public class MediaSourceInfo
    {
        /// <summary>Gets or sets the protocol.</summary>
        public MediaBrowser.Model.MediaInfo.MediaProtocol Protocol { get; set; }

        /// <summary>Gets or sets the id.</summary>
        public string? Id { get; set; }

        /// <summary>Gets or sets the path.</summary>
        public string? Path { get; set; }

        /// <summary>Gets or sets the container.</summary>
        public string? Container { get; set; }

        /// <summary>Gets or sets the name.</summary>
        public string? Name { get; set; }

        /// <summary>Gets or sets a value indicating whether the source is remote.</summary>
        public bool IsRemote { get; set; }

        /// <summary>Gets or sets the ETag.</summary>
        public string? ETag { get; set; }

        /// <summary>Gets or sets the run time ticks.</summary>
        public long? RunTimeTicks { get; set; }

        /// <summary>Gets or sets a value indicating whether transcoding is supported.</summary>
        public bool SupportsTranscoding { get; set; }

        /// <summary>Gets or sets a value indicating whether direct stream is supported.</summary>
        public bool SupportsDirectStream { get; set; }

        /// <summary>Gets or sets a value indicating whether direct play is supported.</summary>
        public bool SupportsDirectPlay { get; set; }

        /// <summary>Gets or sets a value indicating whether the stream is infinite.</summary>
        public bool IsInfiniteStream { get; set; }

        /// <summary>Gets or sets the media streams.</summary>
        public IReadOnlyList<MediaStream> MediaStreams { get; set; } = Array.Empty<MediaStream>();

        /// <summary>Gets or sets the bitrate.</summary>
        public int? Bitrate { get; set; }

        /// <summary>Gets or sets the transcoding URL.</summary>
        public string? TranscodingUrl { get; set; }

        /// <summary>Gets or sets the transcoding sub protocol.</summary>
        public MediaStreamProtocol TranscodingSubProtocol { get; set; }

        /// <summary>Gets or sets the transcoding container.</summary>
        public string? TranscodingContainer { get; set; }

        /// <summary>Gets or sets the default audio stream index.</summary>
        public int? DefaultAudioStreamIndex { get; set; }
    }
}

namespace MediaBrowser.Model.Dlna
{
    /// <summary>Kinds of profile entries.</summary>
    public enum DlnaProfileType
    {
        /// <summary>Audio.</summary>
        Audio = 0,

        /// <summary>Video.</summary>
        Video = 1,

        /// <summary>Photo.</summary>
        Photo = 2,

        /// <summary>Subtitle.</summary>
        Subtitle = 3,

        /// <summary>Lyric.</summary>
        Lyric = 4,
    }

    /// <summary>What a client can play, as posted to PlaybackInfo.</summary>
    public class DeviceProfile
    {
        /// <summary>Gets or sets the name.</summary>
        public string? Name { get; set; }

        /// <summary>Gets or sets the direct play profiles.</summary>
        public DirectPlayProfile[] DirectPlayProfiles { get; set; } = Array.Empty<DirectPlayProfile>();

        /// <summary>Gets or sets the transcoding profiles.</summary>
        public TranscodingProfile[] TranscodingProfiles { get; set; } = Array.Empty<TranscodingProfile>();
    }

    /// <summary>A container/codec combination the client plays directly.</summary>
    public class DirectPlayProfile
    {
        /// <summary>Gets or sets the container list.</summary>
        public string Container { get; set; } = string.Empty;

        /// <summary>Gets or sets the audio codec list.</summary>
        public string? AudioCodec { get; set; }

        /// <summary>Gets or sets the video codec list.</summary>
        public string? VideoCodec { get; set; }

        /// <summary>Gets or sets the type.</summary>
        public DlnaProfileType Type { get; set; }
    }

    /// <summary>A format the client accepts from the transcoder.</summary>
    public class TranscodingProfile
    {
        /// <summary>Gets or sets the container.</summary>
        public string Container { get; set; } = string.Empty;

        /// <summary>Gets or sets the type.</summary>
        public DlnaProfileType Type { get; set; }

        /// <summary>Gets or sets the video codec list.</summary>
        public string VideoCodec { get; set; } = string.Empty;

        /// <summary>Gets or sets the audio codec list.</summary>
        public string AudioCodec { get; set; } = string.Empty;

        /// <summary>Gets or sets the protocol.</summary>
        public MediaStreamProtocol Protocol { get; set; }
    }
}

namespace MediaBrowser.Model.Tasks
{
#if JELLYFIN_10_11
    /// <summary>Trigger kinds (10.11 made this an enum).</summary>
    public enum TaskTriggerInfoType
    {
        /// <summary>Daily.</summary>
        DailyTrigger,

        /// <summary>Weekly.</summary>
        WeeklyTrigger,

        /// <summary>Interval.</summary>
        IntervalTrigger,

        /// <summary>Startup.</summary>
        StartupTrigger,
    }
#endif

    /// <summary>A default trigger of a scheduled task.</summary>
    public class TaskTriggerInfo
    {
#if JELLYFIN_10_11
        /// <summary>Gets or sets the type.</summary>
        public TaskTriggerInfoType Type { get; set; }
#else
        /// <summary>Daily trigger type name.</summary>
        public const string TriggerDaily = "DailyTrigger";

        /// <summary>Interval trigger type name.</summary>
        public const string TriggerInterval = "IntervalTrigger";

        /// <summary>Gets or sets the type.</summary>
        public string Type { get; set; } = string.Empty;
#endif

        /// <summary>Gets or sets the time of day.</summary>
        public long? TimeOfDayTicks { get; set; }

        /// <summary>Gets or sets the interval.</summary>
        public long? IntervalTicks { get; set; }
    }

    /// <summary>A task in the dashboard's scheduled task list.</summary>
    public interface IScheduledTask
    {
        /// <summary>Gets the name.</summary>
        string Name { get; }

        /// <summary>Gets the key.</summary>
        string Key { get; }

        /// <summary>Gets the description.</summary>
        string Description { get; }

        /// <summary>Gets the category.</summary>
        string Category { get; }

        /// <summary>Runs the task.</summary>
        /// <param name="progress">Progress 0..100.</param>
        /// <param name="cancellationToken">Cancellation.</param>
        /// <returns>The run.</returns>
        Task ExecuteAsync(IProgress<double> progress, CancellationToken cancellationToken);

        /// <summary>Gets the default triggers.</summary>
        /// <returns>The triggers.</returns>
        IEnumerable<TaskTriggerInfo> GetDefaultTriggers();
    }
}
