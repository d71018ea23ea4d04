using System;
using System.IO;

namespace Jellyscale.Core.Streaming;

/// <summary>
/// A read-only, seekable window onto part of a file. A finished upscale is its segments back to
/// back, so the engine reports a segment of a finished job as (path, offset, length); serving the
/// window keeps HTTP range requests working without copying anything.
/// </summary>
public sealed class FileSliceStream : Stream
{
    private readonly FileStream _file;
    private readonly long _offset;
    private readonly long _length;
    private long _position;

    /// <summary>Initializes a new instance of the <see cref="FileSliceStream"/> class.</summary>
    /// <param name="path">The file.</param>
    /// <param name="offset">Where the window starts.</param>
    /// <param name="length">How long it is.</param>
    /// <exception cref="ArgumentOutOfRangeException">The window does not lie inside the file.</exception>
    public FileSliceStream(string path, long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var fileLength = _file.Length;
        if (offset + length > fileLength)
        {
            _file.Dispose();
            throw new ArgumentOutOfRangeException(nameof(length), $"{offset}+{length} is past the end of {path} ({fileLength} bytes)");
        }

        _offset = offset;
        _length = length;
    }

    /// <summary>Whether a slice covers its whole file, so the file can be served as it is.</summary>
    /// <param name="path">The file.</param>
    /// <param name="offset">The slice start.</param>
    /// <param name="length">The slice length.</param>
    /// <returns>True for the whole file.</returns>
    public static bool IsWholeFile(string path, long offset, long length)
        => offset == 0 && new FileInfo(path).Length == length;

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => true;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => _length;

    /// <inheritdoc />
    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        var wanted = (int)Math.Min(buffer.Length, _length - _position);
        if (wanted <= 0)
        {
            return 0;
        }

        _file.Position = _offset + _position;
        var read = _file.Read(buffer[..wanted]);
        _position += read;
        return read;
    }

    /// <inheritdoc />
    public override async System.Threading.Tasks.ValueTask<int> ReadAsync(Memory<byte> buffer, System.Threading.CancellationToken cancellationToken = default)
    {
        var wanted = (int)Math.Min(buffer.Length, _length - _position);
        if (wanted <= 0)
        {
            return 0;
        }

        _file.Position = _offset + _position;
        var read = await _file.ReadAsync(buffer[..wanted], cancellationToken);
        _position += read;
        return read;
    }

    /// <inheritdoc />
    public override System.Threading.Tasks.Task<int> ReadAsync(byte[] buffer, int offset, int count, System.Threading.CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
        _position = Math.Min(target, _length);
        return _position;
    }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }
}
