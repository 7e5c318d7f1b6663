using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Warden.Hosting.Isolation;

/// <summary>
/// When the host runs as root, workers run as uid 65534, which cannot read a worker (or a .NET runtime)
/// that lives under a 0700 directory — a clone in /root, a NuGet package cache in a home. Rather than
/// asking the operator to open their home to everyone, the files the worker needs are copied into a
/// directory that only root can write and everyone can read, named by a hash of their content
/// (<c>/var/lib/warden/workers/&lt;sha256&gt;</c>), and bound into the worker's view from there.
/// SECURITY: the copy must not become a way in. So (1) every directory from / down to it is root's and
/// writable by nobody else (no world-writable /tmp: another user could pre-create the name there);
/// (2) it is built in a private 0700 temporary directory beside its final place and renamed into place
/// in one step, so no one sees a half-made copy; (3) before a sandbox first uses it, every file's owner,
/// mode, link count and SHA-256 and every directory's listing are checked against the source, and a copy
/// that fails is moved aside and made again; (4) before every worker start each path's identity
/// (inode, change time, size, owner, mode — which only root can alter, and any write changes the change
/// time) is compared with what was hashed, and a worker is not started from a copy that changed.
/// </summary>
internal static partial class WorkerStaging
{
    /// <summary>Where copies live when the host is root: root's, outside every world-writable directory.</summary>
    public const string DefaultRoot = "/var/lib/warden/workers";

    /// <summary>One file to stage: where it goes (relative, '/'-separated) and where it comes from.</summary>
    internal readonly record struct Entry(string Destination, string Source);

    /// <summary>Copies <paramref name="entries"/> under <paramref name="root"/> (or finds a verified copy there); returns it, or why not.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static (StagedDirectory? Staged, string? Problem) Stage(string root, IReadOnlyList<Entry> entries)
    {
        if (RootProblem(root) is { } rootProblem)
        {
            return (null, rootProblem);
        }
        // The expected content, hashed from the sources: the copy's name and the reference it is checked against.
        var expected = new SortedDictionary<string, (string Source, string Sha256, UnixFileMode Mode)>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in entries)
            {
                if (entry.Destination.Split('/').Any(p => p is "" or "." or ".."))
                {
                    return (null, $"refusing to stage the path '{entry.Destination}'");
                }
                expected[entry.Destination] = (entry.Source, HashFile(entry.Source), StagedMode(File.GetUnixFileMode(entry.Source)));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, "cannot read the files to stage: " + e.Message);
        }
        var manifest = new StringBuilder();
        foreach (var (destination, (_, sha, mode)) in expected)
        {
            manifest.Append(destination).Append('\0').Append(sha).Append('\0').Append((int)mode).Append('\n');
        }
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifest.ToString())));
        string final = Path.Combine(root, key);
        var reference = expected.ToDictionary(e => e.Key, e => (e.Value.Sha256, e.Value.Mode), StringComparer.Ordinal);
        RemoveLeftovers(root);
        string? rejected = null;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (!Directory.Exists(final) && !File.Exists(final) && CopyAndRename(root, final, expected) is { } copyProblem)
            {
                return (null, copyProblem);
            }
            var (staged, problem) = StagedDirectory.Verify(root, final, reference);
            if (staged is not null)
            {
                staged.Replaced = rejected;
                return (staged, null);
            }
            // A copy that fails its check was changed by someone (only root can) or is broken: never
            // used; moved aside (one rename, so no one can use it half-deleted) and made again.
            rejected = problem;
            string aside = Path.Combine(root, ".rejected-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)));
            try
            {
                Directory.Move(final, aside);
                Directory.Delete(aside, recursive: true); // .NET removes links themselves, never what they point to.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, $"the staged copy {final} failed its check ({problem}) and could not be removed: {e.Message}");
            }
        }
        return (null, $"the staged copy {final} failed its check twice: {rejected}");
    }

    /// <summary>Builds the copy in a private directory beside <paramref name="final"/> and renames it into place.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static string? CopyAndRename(string root, string final,
        SortedDictionary<string, (string Source, string Sha256, UnixFileMode Mode)> expected)
    {
        string temporary = Path.Combine(root, ".staging-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)));
        try
        {
            // 0700 while it is being filled: no one else can even look inside until it is complete.
            Directory.CreateDirectory(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            foreach (var (destination, (source, _, mode)) in expected)
            {
                string target = Path.Combine(temporary, destination);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!, DirectoryMode);
                File.Copy(source, target);
                File.SetUnixFileMode(target, mode);
            }
            foreach (var directory in Directory.EnumerateDirectories(temporary, "*", SearchOption.AllDirectories).Append(temporary))
            {
                File.SetUnixFileMode(directory, DirectoryMode); // the umask may have narrowed them
            }
            try
            {
                Directory.Move(temporary, final); // rename(2): atomic; fails if another host just made it
            }
            catch (IOException) when (Directory.Exists(final))
            {
                Directory.Delete(temporary, recursive: true);
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                Directory.Delete(temporary, recursive: true);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Best effort: a leftover private 0700 directory harms no one.
            }
            return $"cannot stage the worker's files under {root}: {e.Message}";
        }
    }

    /// <summary>Private directories of hosts that died while staging or discarding a copy, more than an hour old
    /// (a host still filling one is never that slow). Best effort: they are root's and 0700, harmless if they stay.</summary>
    private static void RemoveLeftovers(string root)
    {
        try
        {
            foreach (var directory in new DirectoryInfo(root).EnumerateDirectories(".*"))
            {
                if ((directory.Name.StartsWith(".staging-", StringComparison.Ordinal) || directory.Name.StartsWith(".rejected-", StringComparison.Ordinal))
                    && directory.LinkTarget is null && directory.LastWriteTimeUtc < DateTime.UtcNow.AddHours(-1))
                {
                    directory.Delete(recursive: true);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another host removed it first, or it is still in use: leave it.
        }
    }

    private const UnixFileMode DirectoryMode = (UnixFileMode)0b111_101_101; // 0755

    /// <summary>0755 for what was executable, 0644 for the rest: readable by the worker's uid, writable by root only.</summary>
    private static UnixFileMode StagedMode(UnixFileMode source) =>
        (source & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0
            ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100;

    /// <summary>Makes the staging root if missing, then checks it and every directory above it.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static string? RootProblem(string root)
    {
        if (!Path.IsPathFullyQualified(root) || Path.GetFullPath(root) != root.TrimEnd('/'))
        {
            return $"the staging directory '{root}' is not a normalised absolute path";
        }
        // Nothing is created below a directory someone else could write: check what exists first.
        string existing = root;
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            existing = parent;
        }
        if (StagedDirectory.ChainProblem(existing) is { } existingProblem)
        {
            return existingProblem;
        }
        try
        {
            // One level at a time, each set to 0755 explicitly: a umask of 077 would otherwise leave
            // directories uid 65534 cannot pass through. Directories that already exist are left as they are.
            var missing = new Stack<string>();
            for (string d = root; d.Length > existing.Length; d = Path.GetDirectoryName(d)!)
            {
                missing.Push(d);
            }
            foreach (var d in missing)
            {
                Directory.CreateDirectory(d);
                File.SetUnixFileMode(d, DirectoryMode);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot create the staging directory {root}: {e.Message}";
        }
        return StagedDirectory.ChainProblem(root);
    }

    private static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>A verified copy, and what its paths looked like when verified.</summary>
    internal sealed class StagedDirectory
    {
        private readonly string _root;
        private readonly IReadOnlyList<(string Path, FileIdentity Identity)> _identities;

        private StagedDirectory(string root, string path, IReadOnlyList<(string, FileIdentity)> identities)
        {
            _root = root;
            Path = path;
            _identities = identities;
        }

        public string Path { get; }

        /// <summary>Why an earlier copy under the same name failed its check and was replaced, if one did.</summary>
        public string? Replaced { get; set; }

        /// <summary>Checks the copy in full: layout, owners, modes, link counts and content hashes.</summary>
        public static (StagedDirectory?, string?) Verify(string root, string path,
            IReadOnlyDictionary<string, (string Sha256, UnixFileMode Mode)> expected)
        {
            if (ChainProblem(root) is { } chain)
            {
                return (null, chain);
            }
            var identities = new List<(string, FileIdentity)>();
            var expectedDirectories = new HashSet<string>(StringComparer.Ordinal) { "" };
            foreach (var destination in expected.Keys)
            {
                for (string? d = System.IO.Path.GetDirectoryName(destination); !string.IsNullOrEmpty(d); d = System.IO.Path.GetDirectoryName(d))
                {
                    expectedDirectories.Add(d);
                }
            }
            foreach (var relative in expectedDirectories)
            {
                string directory = relative.Length == 0 ? path : System.IO.Path.Combine(path, relative);
                if (Stat(directory) is not { } info || !info.IsDirectory || info.Uid != 0 || info.Permissions != (int)DirectoryMode)
                {
                    return (null, $"{directory} is not a directory of root's with mode 0755");
                }
                // Nothing beyond what was staged: runtime directories are bound whole.
                foreach (var child in Directory.EnumerateFileSystemEntries(directory))
                {
                    string name = System.IO.Path.GetRelativePath(path, child);
                    if (!expected.ContainsKey(name) && !expectedDirectories.Contains(name))
                    {
                        return (null, $"{child} was not staged");
                    }
                }
                identities.Add((directory, info));
            }
            foreach (var (destination, (sha, mode)) in expected)
            {
                string file = System.IO.Path.Combine(path, destination);
                // lstat: a symbolic link is itself refused, never followed.
                if (Stat(file) is not { } info || !info.IsRegularFile)
                {
                    return (null, $"{file} is not a regular file");
                }
                if (info.Uid != 0 || info.Permissions != (int)mode || info.Links != 1)
                {
                    return (null, $"{file} has owner {info.Uid}, mode {Convert.ToString(info.Permissions, 8)} and {info.Links} link(s); expected root, {Convert.ToString((int)mode, 8)}, 1");
                }
                try
                {
                    if (HashFile(file) != sha)
                    {
                        return (null, $"{file} does not have the content it was staged with");
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return (null, $"{file} cannot be read: {e.Message}");
                }
                // Taken after hashing: a write during the hash changes the change time, so the next check sees it.
                if (Stat(file) is not { } after || after != info)
                {
                    return (null, $"{file} changed while it was checked");
                }
                identities.Add((file, info));
            }
            return (new StagedDirectory(root, path, identities), null);
        }

        /// <summary>
        /// Before each worker start: the cheap check. Every path still has the identity it had when it was
        /// hashed (inode, change time, size, owner, mode), and the directories above are still root's only.
        /// </summary>
        public string? Changed()
        {
            if (ChainProblem(_root) is { } chain)
            {
                return chain;
            }
            foreach (var (path, identity) in _identities)
            {
                if (Stat(path) != identity)
                {
                    return $"{path} changed after it was verified";
                }
            }
            return null;
        }

        /// <summary>Every directory from / down to <paramref name="directory"/>: a real directory (no link), root's, not writable by group or others.</summary>
        public static string? ChainProblem(string directory)
        {
            for (string? d = directory; d is not null; d = System.IO.Path.GetDirectoryName(d))
            {
                if (Stat(d) is not { } info)
                {
                    return $"{d} cannot be examined";
                }
                if (!info.IsDirectory)
                {
                    return $"{d} is not a directory (a symbolic link?); staging needs a path of real directories";
                }
                if (info.Uid != 0 || (info.Permissions & 0b000_010_010) != 0)
                {
                    return $"{d} has owner {info.Uid} and mode {Convert.ToString(info.Permissions, 8)}: someone other than root could replace what is below it";
                }
                if ((info.Permissions & 0b000_000_001) == 0)
                {
                    return $"{d} has mode {Convert.ToString(info.Permissions, 8)}: uid {BubblewrapCommand.WorkerUid} cannot pass through it to the copy";
                }
            }
            return null;
        }
    }

    /// <summary>What lstat says about a path; two equal identities mean no one changed it in between.</summary>
    internal readonly record struct FileIdentity(ulong Inode, uint DevMajor, uint DevMinor, long ChangeSeconds, uint ChangeNanoseconds,
        ulong Size, uint Uid, uint Gid, int Mode, uint Links)
    {
        public bool IsDirectory => (Mode & 0xF000) == 0x4000;
        public bool IsRegularFile => (Mode & 0xF000) == 0x8000;
        public int Permissions => Mode & 0xFFF;
    }

    /// <summary>lstat through statx(2), whose structure is the same on every architecture.</summary>
    internal static FileIdentity? Stat(string path)
    {
        if (statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, out var s) != 0)
        {
            return null;
        }
        return new FileIdentity(s.Ino, s.DevMajor, s.DevMinor, s.CtimeSec, s.CtimeNsec, s.Size, s.Uid, s.Gid, s.Mode, s.Nlink);
    }

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;

    /// <summary>struct statx (linux/stat.h): the fields read here, at their fixed offsets; 256 bytes in all.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(16)] public uint Nlink;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Ino;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(96)] public long CtimeSec;
        [FieldOffset(104)] public uint CtimeNsec;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, out StatxBuffer buffer);
}
