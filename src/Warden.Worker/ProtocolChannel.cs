using Warden.Protocol;

namespace Warden.Worker;

/// <summary>Frames out to the host. Writes are serialised: the script thread and the main thread both send.</summary>
internal sealed class ProtocolChannel(Stream output)
{
    private readonly Lock _gate = new();

    public void Send(WorkerMessage message)
    {
        byte[] frame = FrameCodec.Encode(message);
        lock (_gate)
        {
            output.Write(frame);
            output.Flush();
        }
    }
}
