using System.Runtime.InteropServices;

namespace Warden.Worker.Lockdown;

/// <summary>
/// libseccomp (Debian's libseccomp2), which compiles a syscall policy into a seccomp-bpf program
/// for this architecture: hand-writing BPF would mean re-implementing its architecture checks,
/// syscall-number tables and argument comparisons, and getting one jump wrong opens the filter.
/// </summary>
internal static partial class LibSeccomp
{
    private const string Library = "libseccomp.so.2";

    public const uint ActKillProcess = 0x80000000;
    public const uint ActAllow = 0x7fff0000;
    public const uint ActLog = 0x7ffc0000;
    public static uint ActErrno(int errno) => 0x00050000u | ((uint)errno & 0xffff);

    public enum Compare
    {
        NotEqual = 1,
        LessThan = 2,
        LessOrEqual = 3,
        Equal = 4,
        GreaterOrEqual = 5,
        GreaterThan = 6,
        MaskedEqual = 7,
    }

    public enum FilterAttribute
    {
        DefaultAction = 1,
        BadArchAction = 2,
        NoNewPrivs = 3,
        ThreadSync = 4,
    }

    /// <summary>struct scmp_arg_cmp: argument index, operator, two operands (mask and value for MaskedEqual).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ArgCompare
    {
        public uint Argument;
        public Compare Operator;
        public ulong DatumA;
        public ulong DatumB;

        public ArgCompare(uint argument, Compare op, ulong a, ulong b = 0)
        {
            Argument = argument;
            Operator = op;
            DatumA = a;
            DatumB = b;
        }
    }

    [LibraryImport(Library, EntryPoint = "seccomp_init")]
    public static partial nint Init(uint defaultAction);

    [LibraryImport(Library, EntryPoint = "seccomp_release")]
    public static partial void Release(nint context);

    [LibraryImport(Library, EntryPoint = "seccomp_attr_set")]
    public static partial int SetAttribute(nint context, FilterAttribute attribute, uint value);

    [LibraryImport(Library, EntryPoint = "seccomp_rule_add_array")]
    public static partial int AddRule(nint context, uint action, int syscall, uint argumentCount, ArgCompare[]? arguments);

    [LibraryImport(Library, EntryPoint = "seccomp_load")]
    public static partial int Load(nint context);

    /// <summary>Writes the compiled filter as readable pseudo-code to a file descriptor (for review and the derivation tool).</summary>
    [LibraryImport(Library, EntryPoint = "seccomp_export_pfc")]
    public static partial int ExportPseudoCode(nint context, int fd);

    /// <summary>The syscall's number on this architecture, or a negative value when it has none here.</summary>
    [LibraryImport(Library, EntryPoint = "seccomp_syscall_resolve_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ResolveName(string name);
}
