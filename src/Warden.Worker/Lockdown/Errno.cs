namespace Warden.Worker.Lockdown;

/// <summary>The Linux errno values the lockdown answers with or reports.</summary>
internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int ENOTTY = 25;
    public const int ENOSYS = 38;
}
