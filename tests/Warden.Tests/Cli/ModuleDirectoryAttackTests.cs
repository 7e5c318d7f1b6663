using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Warden.Cli;

namespace Warden.Tests.Cli;

/// <summary>Attacks on `warden run --modules DIR` from whoever wrote DIR (TM-15 (a)).</summary>
public sealed class ModuleDirectoryAttackTests : IDisposable
{
    private const string Secret = "export default 'the operator secret';";
    private readonly string _directory = Directory.CreateTempSubdirectory("warden-modules-attack-").FullName;

    // rm, not Directory.Delete: .NET cannot delete a name that is not UTF-8.
    public void Dispose() => Shell($"rm -rf '{_directory}'");

    private string Write(string relative, string text)
    {
        string path = Path.Combine(_directory, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static void Shell(string script)
    {
        using var process = Process.Start("bash", ["-c", script])!;
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }

    [Fact]
    public async Task ADirectorySwappedForALinkWhileItIsReadNeverCarriesAFileFromOutside()
    {
        // The race TM-15 once left open: lib is a directory when listed, a link to outside/ when read.
        Write("outside/util.js", Secret);
        Write("app/lib/util.js", "export default 1;");
        string app = Path.Combine(_directory, "app");
        string lib = Path.Combine(app, "lib"), real = Path.Combine(_directory, "real"), link = Path.Combine(_directory, "link");
        Directory.CreateSymbolicLink(link, Path.Combine(_directory, "outside"));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        var flipper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    Directory.Move(lib, real);
                    File.Move(link, lib);
                    Thread.Yield();
                    File.Move(lib, link);
                    Directory.Move(real, lib);
                }
                catch (IOException)
                {
                }
            }
        });
        int reads = 0, leaks = 0;
        while (!stop.IsCancellationRequested)
        {
            var (modules, _) = ModuleDirectory.Read(app, null, 1 << 20, 64);
            reads++;
            if (modules is not null && modules.Values.Any(v => v.Contains("operator secret", StringComparison.Ordinal)))
            {
                leaks++;
            }
        }
        await flipper;
        Assert.True(reads > 100, $"only {reads} reads raced");
        Assert.Equal(0, leaks);
    }

    [Fact]
    public void AFifoWithAWriterIsNotReadAsAModule()
    {
        // A FIFO kept open by the attacker: opened with O_NONBLOCK it would read whatever they write into it.
        Directory.CreateDirectory(Path.Combine(_directory, "app"));
        string fifo = Path.Combine(_directory, "app/util.js");
        Shell($"mkfifo '{fifo}'");
        using var writer = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(
            OpenFifoForWriting(fifo), ownsHandle: true), FileAccess.Write, bufferSize: 0);
        writer.Write(Encoding.UTF8.GetBytes(Secret));

        var (modules, error) = ModuleDirectory.Read(Path.Combine(_directory, "app"), null, 1 << 20, 64);

        Assert.Null(error);
        Assert.Empty(modules!);
    }

    [Fact]
    public void ASocketNamedLikeAModuleNeitherFailsNorIsRead()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "app"));
        Write("app/ok.js", "export default 1;");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(_directory, "app/sock.js")));

        var (modules, error) = ModuleDirectory.Read(Path.Combine(_directory, "app"), null, 1 << 20, 64);

        Assert.Null(error);
        Assert.Equal(["./ok.js"], modules!.Keys);
    }

    [Fact]
    public void AHugeListingIsRefusedBeforeItIsHeld()
    {
        string app = Path.Combine(_directory, "app");
        Directory.CreateDirectory(app);
        Write("app/main.js", "export default 1;");
        Shell($"cd '{app}' && mkdir -p d && cd d && seq 1 {ModuleDirectory.MaxEntries} | xargs touch");

        var (modules, error) = ModuleDirectory.Read(app, null, 1 << 20, 64);

        Assert.Null(modules);
        Assert.Contains($"more than {ModuleDirectory.MaxEntries} entries", error);
    }

    [Fact]
    public void NamesThatAreNotUtf8AndCollideAreRefusedNotAnUnhandledException()
    {
        // \xff.js decodes (lossily) to the same name as a real U+FFFD.js.
        string app = Path.Combine(_directory, "app");
        Directory.CreateDirectory(app);
        Shell($"cd '{app}' && printf 1 > \"$(printf '\\377.js')\" && printf 2 > \"$(printf '\\357\\277\\275.js')\"");

        var (modules, error) = ModuleDirectory.Read(app, null, 1 << 20, 64);

        Assert.Null(modules);
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData("/proc/self/environ")]
    [InlineData("/nonexistent/dangling")]
    [InlineData("/proc/self/root/etc/passwd")]
    public void LinksToProcAndDanglingLinksAreRefused(string target)
    {
        Directory.CreateDirectory(Path.Combine(_directory, "app/a/b/c"));
        File.CreateSymbolicLink(Path.Combine(_directory, "app/a/b/c/util.js"), target);

        var (modules, error) = ModuleDirectory.Read(Path.Combine(_directory, "app"), null, 1 << 20, 64);

        Assert.Null(modules);
        Assert.Contains("symbolic link", error);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open", SetLastError = true)]
#pragma warning disable SYSLIB1054, CA2101
    private static extern int Open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);
#pragma warning restore SYSLIB1054, CA2101

    private static IntPtr OpenFifoForWriting(string path)
    {
        // O_RDWR on a FIFO opens without waiting for a reader (Linux), and keeps a writer present.
        int fd = Open(path, 2);
        Assert.True(fd >= 0);
        return fd;
    }
}
