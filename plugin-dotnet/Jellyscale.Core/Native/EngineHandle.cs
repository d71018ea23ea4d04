using System;
using System.Runtime.InteropServices;

namespace Jellyscale.Core.Native;

/// <summary>Owns a <c>JellyscaleEngine*</c>; releasing it calls <c>jellyscale_engine_free</c> exactly once.</summary>
internal sealed class EngineHandle : SafeHandle
{
    /// <summary>Initializes a new instance of the <see cref="EngineHandle"/> class (used by the marshaller).</summary>
    public EngineHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.jellyscale_engine_free(handle);
        return true;
    }
}
