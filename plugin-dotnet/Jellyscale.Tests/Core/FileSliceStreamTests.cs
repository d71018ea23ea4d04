using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Jellyscale.Core.Streaming;
using Jellyscale.Tests.Support;
using Xunit;

namespace Jellyscale.Tests.Core;

public sealed class FileSliceStreamTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _file;

    public FileSliceStreamTests()
    {
        _file = Path.Combine(_dir.Path, "final.ts");
        File.WriteAllBytes(_file, Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray());
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Slice_reads_exactly_its_window()
    {
        await using var slice = new FileSliceStream(_file, 100, 300);
        using var copy = new MemoryStream();
        await slice.CopyToAsync(copy);
        Assert.Equal(Enumerable.Range(100, 300).Select(i => (byte)i), copy.ToArray());
    }

    [Fact]
    public void Seeking_stays_inside_the_window()
    {
        using var slice = new FileSliceStream(_file, 100, 300);
        slice.Seek(-10, SeekOrigin.End);
        var buffer = new byte[50];
        Assert.Equal(10, slice.Read(buffer, 0, 50));
        Assert.Equal(unchecked((byte)390), buffer[0]);
        Assert.Equal(0, slice.Read(buffer, 0, 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => slice.Seek(-1, SeekOrigin.Begin));
    }

    [Fact]
    public void Window_past_the_end_of_the_file_is_refused()
        => Assert.Throws<ArgumentOutOfRangeException>(() => new FileSliceStream(_file, 900, 101));

    [Fact]
    public void Whole_file_is_recognised()
    {
        Assert.True(FileSliceStream.IsWholeFile(_file, 0, 1000));
        Assert.False(FileSliceStream.IsWholeFile(_file, 0, 999));
        Assert.False(FileSliceStream.IsWholeFile(_file, 1, 999));
    }
}
