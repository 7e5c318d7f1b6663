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

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

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
                children = current.EnumerateFileSystemInfos().OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
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
                string name = "./" + Path.GetRelativePath(root.FullName, child.FullName).Replace(Path.DirectorySeparatorChar, '/');
                var (source, error) = ReadModule(child.FullName, maxBytes - total);
                if (error is not null)
                {
                    return (null, error);
                }
                total += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(source!);
                modules.Add(name, source!);
            }
        }
        return (modules, null);
    }

    private static (string? Source, string? Error) ReadModule(string path, long budget)
    {
        byte[] bytes;
        try
        {
            using var handle = OpenRegularFile(path);
            using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while (buffer.Length <= budget && (n = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, budget + 1 - buffer.Length))) > 0)
            {
                buffer.Write(chunk, 0, n);
            }
            if (buffer.Length > budget)
            {
                return (null, $"--modules: the code and modules together are more than the code limit (MaxCodeBytes) at '{path}'");
            }
            bytes = buffer.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"--modules: '{path}' cannot be read: {e.Message}");
        }
        if (Array.IndexOf(bytes, (byte)0) >= 0)
        {
            return (null, $"--modules: '{path}' contains NUL bytes: it is not text");
        }
        try
        {
            string text = StrictUtf8.GetString(bytes);
            return (text.StartsWith('\uFEFF') ? text[1..] : text, null);
        }
        catch (DecoderFallbackException)
        {
            return (null, $"--modules: '{path}' is not valid UTF-8 text");
        }
    }

    /// <summary>
    /// Opens the file itself, never what a link names (O_NOFOLLOW: a link swapped in after the directory
    /// was listed fails with ELOOP), and without waiting on a FIFO that nobody writes (O_NONBLOCK; a FIFO
    /// then reads as empty, a device as its bounded first bytes).
    /// </summary>
    private static SafeFileHandle OpenRegularFile(string path)
    {
        // Linux values (x86-64; arm64 differs in O_NOFOLLOW only); the worker and its lockdown are Linux-only.
        const int ReadOnly = 0, NonBlocking = 0x800, CloseOnExec = 0x80000;
        int noFollow = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;
        int fd = Open(path, ReadOnly | NonBlocking | noFollow | CloseOnExec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException(errno == 40 /* ELOOP */ ? "it is a symbolic link" : Marshal.GetPInvokeErrorMessage(errno));
        }
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
#pragma warning disable SYSLIB1054, CA2101 // A classic import needs no unsafe code in this project; the path is marshalled as UTF-8 below.
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
#pragma warning restore SYSLIB1054, CA2101
}
