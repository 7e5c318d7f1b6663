using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Warden.Cli;

/// <summary>
/// `warden run --modules DIR`: the named modules of a module-mode run, read from a directory the way a
/// browser would serve it beside the entry — <c>DIR/lib/util.js</c> is the module <c>./lib/util.js</c>, so
/// <c>import './lib/util.js'</c> works the same in Warden and in Chrome.
/// </summary>
/// <remarks>
/// SECURITY: the directory may hold files the operator did not write (a student's unpacked submission, a
/// plugin's tarball), and whatever is read here is handed to the untrusted script, which can return it.
/// So only regular files are read, and never through a symbolic link: a link named <c>util.js</c> that
/// points at <c>/etc/shadow</c> or the operator's key would otherwise carry that file into the sandbox
/// under the permissions of whoever runs `warden run`. Links are refused rather than skipped, so that a
/// missing module is never a mystery. Every read is bounded by the code budget, as the entry's is.
/// </remarks>
internal static class ModuleDirectory
{
    /// <summary>The extensions read as modules; every other file is left alone (data, docs, package files).</summary>
    private static readonly string[] ModuleExtensions = [".js", ".mjs"];

    /// <summary>The modules under <paramref name="directory"/>, or why they cannot be read.</summary>
    /// <param name="directory">The directory given to --modules.</param>
    /// <param name="entryPath">The entry file, which is not read again as a module of its own.</param>
    /// <param name="maxBytes">What the modules may add up to (MaxCodeBytes less the entry's bytes).</param>
    /// <param name="maxModules">How many modules a submission may have.</param>
    public static (Dictionary<string, string>? Modules, string? Error) Read(string directory, string? entryPath, long maxBytes, int maxModules)
    {
        var root = new DirectoryInfo(directory);
        if (!root.Exists)
        {
            return (null, File.Exists(directory) ? $"--modules '{directory}' is a file, not a directory" : $"--modules '{directory}' does not exist");
        }
        string? entry = entryPath is null or "-" ? null : Path.GetFullPath(entryPath);
        // SECURITY: every read is resolved from this handle on the directory, one name at a time and never
        // through a link (see OpenBeneath), so a directory swapped for a link after it was listed cannot point
        // a read outside the tree.
        using var rootHandle = OpenPath(AtCurrentDirectory, root.FullName, follow: true);
        if (rootHandle is null)
        {
            return (null, $"--modules: the directory '{directory}' cannot be opened: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        int entries = 0;
        var modules = new Dictionary<string, string>(StringComparer.Ordinal);
        long total = 0;
        var pending = new Stack<DirectoryInfo>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            IEnumerable<FileSystemInfo> children;
            try
            {
                // SECURITY: the listing is bounded before it is held or sorted: a tree of millions of entries
                // (or one very deep) written by whoever wrote the directory would otherwise cost time and memory
                // without any limit, since only modules count against MaxModules.
                var listed = new List<FileSystemInfo>();
                foreach (var child in current.EnumerateFileSystemInfos())
                {
                    if (++entries > MaxEntries)
                    {
                        return (null, $"--modules: '{directory}' holds more than {MaxEntries} entries; point it at the program's own directory");
                    }
                    listed.Add(child);
                }
                children = listed.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, $"--modules: the directory '{current.FullName}' cannot be read: {e.Message}");
            }
            foreach (var child in children)
            {
                // Hidden entries (.git, .cache) are a tool's, not the program's.
                if (child.Name.StartsWith('.'))
                {
                    continue;
                }
                bool isModule = child is FileInfo && ModuleExtensions.Contains(child.Extension, StringComparer.Ordinal);
                if (child.LinkTarget is not null && (child is DirectoryInfo || isModule))
                {
                    return (null, $"--modules: '{child.FullName}' is a symbolic link; only regular files are read (a link could hand the script any file this user can read)");
                }
                if (child is DirectoryInfo subdirectory)
                {
                    pending.Push(subdirectory);
                    continue;
                }
                if (!isModule || string.Equals(child.FullName, entry, StringComparison.Ordinal))
                {
                    continue;
                }
                if (modules.Count == maxModules)
                {
                    return (null, $"--modules: '{directory}' holds more than {maxModules} modules");
                }
                string relative = Path.GetRelativePath(root.FullName, child.FullName);
                string name = "./" + relative.Replace(Path.DirectorySeparatorChar, '/');
                if (modules.ContainsKey(name))
                {
                    // SECURITY: names that are not UTF-8 are decoded lossily, so two files can have one name;
                    // refused with a message rather than an unhandled exception.
                    return (null, $"--modules: two files under '{directory}' have the name '{name}' (a name that is not UTF-8?)");
                }
                var (source, error) = ReadModule(rootHandle, relative, child.FullName, maxBytes - total);
                if (error is not null)
                {
                    return (null, error);
                }
                if (source is null)
                {
                    continue; // a FIFO, socket or device: not a file a program is made of, and never opened
                }
                total += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(source!);
                modules.Add(name, source!);
            }
        }
        return (modules, null);
    }

    private static (string? Source, string? Error) ReadModule(SafeFileHandle root, string relative, string path, long budget)
    {
        byte[] bytes;
        try
        {
            using var handle = OpenRegularFileBeneath(root, relative);
            if (handle is null)
            {
                return (null, null);
            }
            using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            bytes = BoundedText.Read(stream, budget);
            if (bytes.Length > budget)
            {
                return (null, $"--modules: the code and modules together are more than the code limit (MaxCodeBytes) at '{path}'");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"--modules: '{path}' cannot be read: {e.Message}");
        }
        return BoundedText.Decode(bytes, $"--modules: '{path}'");
    }

    /// <summary>How many entries (files, directories, anything) a listing may walk before it is refused.</summary>
    internal const int MaxEntries = 10_000;

    // Linux values (the same on x86-64 and arm64 but O_NOFOLLOW); the worker and its lockdown are Linux-only.
    private const int AtCurrentDirectory = -100, ReadOnly = 0, NonBlocking = 0x800, CloseOnExec = 0x80000, PathOnly = 0x200000;
    private const int AtEmptyPath = 0x1000, StatxType = 1, FileTypeMask = 0xF000, RegularFile = 0x8000, DirectoryFile = 0x4000;
    private static readonly int NoFollow = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    /// <summary>
    /// Opens <paramref name="relative"/> under <paramref name="root"/> for reading, or null when it is not a
    /// regular file (a FIFO, socket or device node).
    /// </summary>
    /// <remarks>
    /// SECURITY: each component is opened from its parent's handle with O_NOFOLLOW (O_NOFOLLOW on the whole path
    /// guards only its last component), so a directory swapped for a link after the listing is refused, not
    /// followed. Each component is first opened with O_PATH, which opens nothing (no FIFO wait, no device side
    /// effect such as a tape rewind), and its type checked: only directories are descended and only regular
    /// files read — a device node in an archive unpacked as root (util.js as /dev/kmsg or a disk) is never
    /// read. The file is then reopened through /proc/self/fd, which names that same inode and no path.
    /// </remarks>
    private static SafeFileHandle? OpenRegularFileBeneath(SafeFileHandle root, string relative)
    {
        string[] names = relative.Split(Path.DirectorySeparatorChar);
        SafeFileHandle? current = null;
        try
        {
            for (int i = 0; i < names.Length; i++)
            {
                var next = OpenPath((int)(current ?? root).DangerousGetHandle(), names[i], follow: false)
                    ?? throw new IOException(Marshal.GetLastPInvokeError() == 40 /* ELOOP */ ? "it is a symbolic link" : Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
                current?.Dispose();
                current = next;
                int type = FileType(current);
                bool last = i == names.Length - 1;
                if (!last && type != DirectoryFile)
                {
                    throw new IOException($"'{names[i]}' is no longer a directory (it changed while it was read)");
                }
                if (last && type != RegularFile)
                {
                    return type switch
                    {
                        0xA000 => throw new IOException("it is a symbolic link (it changed while it was read)"),
                        DirectoryFile => throw new IOException("it is a directory (it changed while it was read)"),
                        _ => null,
                    };
                }
            }
            int fd = Open($"/proc/self/fd/{(int)current!.DangerousGetHandle()}", ReadOnly | NonBlocking | CloseOnExec);
            if (fd < 0)
            {
                throw new IOException(Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
            }
            return new SafeFileHandle(fd, ownsHandle: true);
        }
        finally
        {
            current?.Dispose();
        }
    }

    /// <summary>An O_PATH handle on <paramref name="name"/> relative to <paramref name="directory"/>, or null (errno set).</summary>
    private static SafeFileHandle? OpenPath(int directory, string name, bool follow)
    {
        int fd = OpenAt(directory, name, PathOnly | CloseOnExec | (follow ? 0 : NoFollow));
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>The S_IFMT bits of what <paramref name="handle"/> names (statx: one layout on every architecture).</summary>
    private static int FileType(SafeFileHandle handle)
    {
        var buffer = new byte[256];
        if (Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath, StatxType, buffer) != 0)
        {
            throw new IOException(Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
        }
        return BitConverter.ToUInt16(buffer, 28) & FileTypeMask;
    }

    [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
#pragma warning disable SYSLIB1054, CA2101 // As Open below.
    private static extern int OpenAt(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
#pragma warning restore SYSLIB1054, CA2101

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
#pragma warning disable SYSLIB1054, CA2101 // A classic import needs no unsafe code in this project; the path is marshalled as UTF-8 below.
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
#pragma warning restore SYSLIB1054, CA2101
}
