using System;
using System.IO;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Native;
using Jellyscale.Tests.Support;
using Xunit;

namespace Jellyscale.Tests.Native;

/// <summary>
/// The descriptor a <c>jellyscale_request</c> answer carries is owned by the plugin from the callback
/// on: closed once with the reply, and at once when the client already left. Real descriptors.
/// </summary>
public sealed class StreamReplyTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_file_reply_that_arrives_after_the_client_left_is_closed_at_once()
    {
        var fd = OpenRawDescriptor();
        var waiter = new JellyscaleEngine.ReplyWaiter();
        Assert.True(waiter.Completion.TrySetCanceled());

        waiter.Complete(JellyscaleStatus.Ok, FileReplyJson(fd));

        Assert.False(IsOpen(fd));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.Completion.Task);
    }

    [Fact]
    public async Task A_file_reply_keeps_its_descriptor_until_the_reply_is_disposed()
    {
        var fd = OpenRawDescriptor();
        var waiter = new JellyscaleEngine.ReplyWaiter();

        waiter.Complete(JellyscaleStatus.Ok, FileReplyJson(fd));

        var reply = await waiter.Completion.Task;
        Assert.True(IsOpen(fd));
        Assert.Equal(206, reply.HttpStatus);
        Assert.Equal("video/mp2t", reply.Mime);
        Assert.Equal((3L, 4L, 10L), (reply.Offset, reply.Length, reply.Total));
        Assert.Equal("bytes 3-6/10", reply.ContentRange);
        var bytes = new byte[4];
        Assert.Equal(4, RandomAccess.Read(reply.File!, bytes, reply.Offset));
        Assert.Equal("3456"u8.ToArray(), bytes);
        reply.Dispose();
        Assert.False(IsOpen(fd));
        reply.Dispose();
    }

    [Fact]
    public void An_error_reply_carries_the_engine_http_status_and_code()
    {
        var reply = JellyscaleEngine.ParseReply(JellyscaleStatus.Cancelled, """{"code":"cancelled","message":"job cancelled","http_status":410}""");
        Assert.Equal((410, "cancelled", "job cancelled"), (reply.HttpStatus, reply.ErrorCode, reply.ErrorMessage));
        Assert.Null(reply.File);
    }

    private static string FileReplyJson(int fd)
        => $$"""{"http_status":206,"mime":"video/mp2t","fd":{{fd}},"offset":3,"length":4,"total":10,"content_range":"bytes 3-6/10"}""";

    private static bool IsOpen(int fd) => File.Exists($"/proc/self/fd/{fd}");

    /// <summary>A descriptor the test hands over as the engine does: nobody else owns it.</summary>
    private int OpenRawDescriptor()
    {
        var path = Path.Combine(_dir.Path, Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, "0123456789");
        var handle = File.OpenHandle(path);
        var fd = (int)handle.DangerousGetHandle();
        handle.SetHandleAsInvalid();
        Assert.True(IsOpen(fd));
        return fd;
    }
}
