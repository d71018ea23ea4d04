using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Jellyscale.Core.Native;

/// <summary>
/// Loads libjellyscale from a full path. Jellyfin loads plugins from their own folder, which is not
/// on the native search path, so the import name is resolved to the exact file shipped beside the DLL.
/// </summary>
public static class NativeLibraryLoader
{
    /// <summary>The C ABI version this wrapper was written against.</summary>
    public const uint SupportedAbiVersion = 1;

    private static readonly object Gate = new();
    private static IntPtr _library;
    private static string? _loadedPath;

    /// <summary>Gets the full path of the loaded library, or null before <see cref="Load"/>.</summary>
    public static string? LoadedPath => _loadedPath;

    /// <summary>Loads the library once per process and checks its ABI version.</summary>
    /// <param name="fullPath">Full path of libjellyscale.so.</param>
    /// <exception cref="DllNotFoundException">The file is missing or not loadable.</exception>
    /// <exception cref="InvalidOperationException">Another path was loaded before, or the ABI version differs.</exception>
    public static void Load(string fullPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(fullPath);
        var path = Path.GetFullPath(fullPath);
        lock (Gate)
        {
            if (_loadedPath is not null)
            {
                if (!string.Equals(_loadedPath, path, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"libjellyscale is already loaded from {_loadedPath}; cannot also load {path}.");
                }

                return;
            }

            if (!File.Exists(path))
            {
                throw new DllNotFoundException($"libjellyscale not found at {path}.");
            }

            _library = NativeLibrary.Load(path);
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
            _loadedPath = path;

            var abi = NativeMethods.jellyscale_abi_version();
            if (abi != SupportedAbiVersion)
            {
                throw new InvalidOperationException($"libjellyscale at {path} has ABI version {abi}; this plugin needs {SupportedAbiVersion}.");
            }

            NativeLog.Install();
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        => libraryName == NativeMethods.LibraryName ? _library : IntPtr.Zero;
}
