using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Tasks;
using Jellyscale.Tests.Support;
using Xunit;

namespace Jellyscale.Tests.Packaging;

/// <summary>packaging/package.py makes one installable zip per Jellyfin line and a manifest whose checksums match.</summary>
[Collection(NativeCollection.Name)]
public sealed class PackagingTests : IDisposable
{
    private const string BaseUrl = "https://plugins.example.test/jellyscale";
    private readonly TempDir _out = new();

    public void Dispose() => _out.Dispose();

    [SkippableFact]
    public async Task Each_build_zip_holds_the_plugin_the_native_library_and_meta_and_the_manifest_checksums_match()
    {
        // A private copy: the shared build folder may be rebuilt while this test runs.
        var library = Path.Combine(_out.Path, "libjellyscale-under-test.so");
        File.Copy(Prerequisites.NativeLibrary(), library);
        var libraryHash = SHA256.HashData(await File.ReadAllBytesAsync(library));
        var python = Prerequisites.Tool("/usr/bin/env");
        var (code, stdout, stderr) = await Prerequisites.RunAsync(python, TimeSpan.FromMinutes(6),
            "python3", Path.Combine(Prerequisites.PluginDir, "packaging", "package.py"),
            "--lib", library, "--out", _out.Path, "--base-url", BaseUrl, "--contract");
        Assert.True(code == 0, stdout + stderr);

        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out.Path, "manifest.json")));
        var package = Assert.Single(manifest.RootElement.EnumerateArray());
        Assert.Equal("Jellyscale", package.GetProperty("name").GetString());
        Assert.Equal(Jellyscale.Plugin.Plugin.PluginId, Guid.Parse(package.GetProperty("guid").GetString()!));
        var versions = package.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal(new[] { "10.10.0.0", "10.11.0.0" }, versions.Select(v => v.GetProperty("targetAbi").GetString()));

        foreach (var (version, runtimeMajor) in versions.Zip(new[] { 8, 9 }))
        {
            var sourceUrl = version.GetProperty("sourceUrl").GetString()!;
            Assert.StartsWith(BaseUrl + "/jellyscale_", sourceUrl, StringComparison.Ordinal);
            var zipPath = Path.Combine(_out.Path, sourceUrl[(BaseUrl.Length + 1)..]);
#pragma warning disable CA5351 // Jellyfin verifies plugin downloads with MD5; the test must compute the same.
            var md5 = Convert.ToHexStringLower(MD5.HashData(await File.ReadAllBytesAsync(zipPath)));
#pragma warning restore CA5351
            Assert.Equal(md5, version.GetProperty("checksum").GetString());

            using var zip = ZipFile.OpenRead(zipPath);
            Assert.Equal(
                new[] { "Jellyscale.Core.dll", "Jellyscale.Plugin.dll", "libjellyscale.so", "meta.json" },
                zip.Entries.Select(e => e.FullName).Order(StringComparer.Ordinal));
            using (var shipped = zip.GetEntry("libjellyscale.so")!.Open())
            {
                Assert.Equal(libraryHash, await SHA256.HashDataAsync(shipped));
            }

            using (var metaStream = zip.GetEntry("meta.json")!.Open())
            {
                using var meta = await JsonDocument.ParseAsync(metaStream);
                Assert.Equal(package.GetProperty("guid").GetString(), meta.RootElement.GetProperty("guid").GetString());
                Assert.Equal(version.GetProperty("targetAbi").GetString(), meta.RootElement.GetProperty("targetAbi").GetString());
                Assert.Equal(version.GetProperty("version").GetString(), meta.RootElement.GetProperty("version").GetString());
            }

            Assert.Equal(runtimeMajor, SystemRuntimeMajor(zip, "Jellyscale.Plugin.dll"));
        }
    }

    /// <summary>The major version of System.Runtime the assembly was compiled against: 8 for net8.0, 9 for net9.0.</summary>
    private static int SystemRuntimeMajor(ZipArchive zip, string name)
    {
        using var entry = zip.GetEntry(name)!.Open();
        using var buffer = new MemoryStream();
        entry.CopyTo(buffer);
        buffer.Position = 0;
        using var pe = new PEReader(buffer);
        var reader = pe.GetMetadataReader();
        return reader.AssemblyReferences
            .Select(h => reader.GetAssemblyReference(h))
            .Single(r => reader.GetString(r.Name) == "System.Runtime")
            .Version.Major;
    }
}
