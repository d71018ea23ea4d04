#pragma warning disable SA1300 // Jellyfin keeps these members lowercase for wire compatibility.
namespace Jellyfin.Data.Enums
{
    /// <summary>Media streaming protocol (Jellyfin.Data/Enums/MediaStreamProtocol.cs, 10.9+).</summary>
    public enum MediaStreamProtocol
    {
        /// <summary>HTTP.</summary>
        http = 0,

        /// <summary>HTTP Live Streaming.</summary>
        hls = 1,
    }
}
