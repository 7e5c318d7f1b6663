using System.Text;
using Wasmtime;
using Warden.Protocol;

namespace Warden.Worker.Engines.QuickJs;

/// <summary>Calls into the guest: QuickJS's API as the host uses it, and strings across the boundary.</summary>
internal sealed partial class QuickJsInstance
{
    /// <summary>Evaluates one of our own scripts (from its cached bytecode) and returns its completion value.</summary>
    private int EvaluateScript(byte[] bytecode) => ThrowIfException(EvalBytecode(bytecode));

    /// <summary>Copies our own <paramref name="bytecode"/> into the guest and evaluates it; the value as QuickJS gave it (an exception included).</summary>
    private int EvalBytecode(byte[] bytecode)
    {
        int buffer = Checked(_q.Malloc(bytecode.Length));
        bytecode.CopyTo(Memory.Span(buffer, bytecode.Length));
        int value = Checked(_q.EvalBytecode(buffer, bytecode.Length));
        _q.Free(buffer);
        return value;
    }

    /// <summary>Calls <paramref name="function"/> with <c>this</c> undefined; frees the arguments when asked.</summary>
    private int CallFunction(int function, int[] arguments, bool freeArguments)
    {
        int argv = arguments.Length == 0 ? 0 : Checked(_q.Malloc(arguments.Length * 4));
        for (int i = 0; i < arguments.Length; i++)
        {
            Memory.WriteInt32(argv + i * 4, arguments[i]);
        }
        int self = Checked(_q.GetUndefined());
        int result;
        try
        {
            result = Checked(_q.Call(function, self, arguments.Length, argv));
        }
        finally
        {
            _q.FreeValue(self);
            if (argv != 0)
            {
                _q.Free(argv);
            }
            if (freeArguments)
            {
                foreach (int argument in arguments)
                {
                    _q.FreeValue(argument);
                }
            }
        }
        return ThrowIfException(result);
    }

    /// <summary>
    /// The prelude's entry points catch every exception a script can throw; what still leaves the guest is
    /// QuickJS's uncatchable out-of-memory error (the memory cap was reached) or a failure of our own code.
    /// </summary>
    private int ThrowIfException(int value)
    {
        if (_q.IsException(value) == 0)
        {
            return value;
        }
        _q.FreeValue(value);
        int exception = _q.GetException();
        bool uncatchable = exception == 0 || _q.IsUncatchableError(exception) != 0;
        if (exception != 0)
        {
            _q.FreeValue(exception);
        }
        if (uncatchable)
        {
            _outOfMemory = true;
            throw new EngineAbortException(EngineAbort.MemoryLimit);
        }
        throw new EngineAbortException(EngineAbort.Fault);
    }

    /// <summary>A null box or pointer from the guest is a failed allocation: the memory cap was reached.</summary>
    private int Checked(int pointer)
    {
        if (pointer == 0)
        {
            _outOfMemory = true;
            throw new EngineAbortException(EngineAbort.MemoryLimit);
        }
        return pointer;
    }

    /// <summary>A new JS string (UTF-8 into guest memory, then QuickJS's copy); the caller frees the box.</summary>
    private int NewString(string text)
    {
        int buffer = WriteCString(text, out int length);
        int value = _q.NewString(buffer, length);
        _q.Free(buffer);
        return Checked(value);
    }

    /// <summary>
    /// <paramref name="text"/> as NUL-terminated UTF-8 in guest memory (QuickJS's parser needs the NUL);
    /// the caller frees it with wasm_free.
    /// </summary>
    private int WriteCString(string text, out int length)
    {
        length = Encoding.UTF8.GetByteCount(text);
        int buffer = Checked(_q.Malloc(length + 1));
        var target = Memory.Span(buffer, length + 1);
        Encoding.UTF8.GetBytes(text, target);
        target[length] = 0;
        return buffer;
    }

    /// <summary>A JS value as a .NET string (QuickJS's own conversion, bounded), or null when it failed.</summary>
    private string? ReadString(int value)
    {
        string? text = ReadString(value, MaxGuestStringBytes, out long bytes);
        if (text is null && bytes > MaxGuestStringBytes)
        {
            throw new GuestMemoryException();
        }
        return text;
    }

    /// <summary>
    /// A JS value as a .NET string if its UTF-8 is at most <paramref name="maxBytes"/> long; null when longer
    /// (<paramref name="bytes"/> then says how long, and nothing was copied) or when the conversion failed.
    /// </summary>
    private string? ReadString(int value, long maxBytes, out long bytes)
    {
        bytes = 0;
        int text = _q.GetStringLength(value, _scratch);
        if (text == 0)
        {
            return null;
        }
        try
        {
            bytes = (uint)Memory.ReadInt32(_scratch);
            if (bytes > maxBytes)
            {
                return null;
            }
            return bytes == 0 ? "" : Encoding.UTF8.GetString(Memory.Span(text, (int)bytes));
        }
        finally
        {
            _q.FreeCString(text);
        }
    }

    /// <summary>
    /// A NUL-terminated string the guest passed (module names), read to at most <paramref name="maxBytes"/>:
    /// false, with the bytes that fit in <paramref name="text"/>, when it is longer. A pointer outside the
    /// guest's memory still traps.
    /// </summary>
    private bool TryReadCString(int pointer, int maxBytes, out string text)
    {
        long available = Math.Min(maxBytes + 1, Memory.Length - (uint)pointer);
        var bytes = Memory.Span(pointer, (int)Math.Max(0, available));
        int end = bytes.IndexOf((byte)0);
        text = Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
        return end >= 0;
    }
}
