namespace Jellyscale.Core.Engine;

/// <summary>Gives the engine, creating it on first use (the native library is loaded lazily so a broken install never stops Jellyfin).</summary>
public interface IStreamEngineProvider
{
    /// <summary>Gets the engine.</summary>
    /// <exception cref="System.Exception">The engine could not be created; callers leave playback as Jellyfin made it.</exception>
    IStreamEngine Engine { get; }
}
