using System;

namespace Jellyscale.Core.Engine;

/// <summary>
/// Creates the engine on first use. A failure is remembered for <see cref="RetryAfter"/> so a broken
/// install costs one attempt per interval, not one per PlaybackInfo request.
/// </summary>
public sealed class LazyEngineProvider : IStreamEngineProvider, IDisposable
{
    private readonly object _gate = new();
    private readonly Func<IStreamEngine> _factory;
    private readonly TimeProvider _time;
    private IStreamEngine? _engine;
    private Exception? _failure;
    private DateTimeOffset _failedAt;
    private bool _disposed;

    /// <summary>Initializes a new instance of the <see cref="LazyEngineProvider"/> class.</summary>
    /// <param name="factory">Creates the engine.</param>
    /// <param name="time">The clock.</param>
    public LazyEngineProvider(Func<IStreamEngine> factory, TimeProvider time)
    {
        _factory = factory ?? throw new ArgumentNullException(nameof(factory));
        _time = time ?? throw new ArgumentNullException(nameof(time));
    }

    /// <summary>Gets how long a creation failure is reported before trying again.</summary>
    public static TimeSpan RetryAfter { get; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public IStreamEngine Engine
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_engine is not null)
                {
                    return _engine;
                }

                if (_failure is not null && _time.GetUtcNow() - _failedAt < RetryAfter)
                {
                    throw new InvalidOperationException("The Jellyscale engine is unavailable: " + _failure.Message, _failure);
                }

                try
                {
                    _engine = _factory();
                    _failure = null;
                    return _engine;
                }
                catch (Exception e)
                {
                    _failure = e;
                    _failedAt = _time.GetUtcNow();
                    throw;
                }
            }
        }
    }

    /// <summary>Frees the engine if it was created (stops its ffmpeg children).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            (_engine as IDisposable)?.Dispose();
            _engine = null;
        }
    }
}
