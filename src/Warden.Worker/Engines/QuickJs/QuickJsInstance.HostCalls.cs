using System.Text;
using Wasmtime;
using Warden.Protocol;

namespace Warden.Worker.Engines.QuickJs;

/// <summary>Calls from the guest (<see cref="QuickJsImports"/>): the bridge's functions and the module loader.</summary>
internal sealed partial class QuickJsInstance
{
    /// <summary>
    /// A call of one of the bridge's functions (the only functions the host gave the guest). Returns a box the
    /// trampoline takes over, or 0 after throwing into the guest.
    /// </summary>
    internal int HostCall(int namePtr, int nameLength, int argc, int argvPtr)
    {
        try
        {
            if (argc is < 0 or > MaxBridgeArguments)
            {
                throw new GuestMemoryException();
            }
            var name = QuickJsBridge.Find(Memory.Span(namePtr, nameLength));
            if (_recorder is null)
            {
                // The VM that compiles Warden's scripts runs no code, so it makes no bridge call.
                throw new GuestMemoryException();
            }
            var recorder = _recorder;
            var arguments = new int[argc];
            for (int i = 0; i < argc; i++)
            {
                arguments[i] = Memory.ReadInt32(argvPtr + i * 4);
            }
            return name switch
            {
                QuickJsBridge.Function.Now => Checked(_q.NewNumber(recorder.ElapsedMs)),
                QuickJsBridge.Function.Log => Checked(Log(recorder, arguments) ? _q.GetTrue() : _q.GetFalse()),
                QuickJsBridge.Function.Complete => Undefined(() => Complete(recorder, arguments)),
                QuickJsBridge.Function.Fail => Undefined(() =>
                {
                    RefuseAtMemoryCap();
                    string limit = StringArgument(arguments, 1);
                    recorder.Fail(new ReportedFailure(StringArgument(arguments, 0), limit.Length == 0 ? null : limit,
                        StringArgument(arguments, 2), StringArgument(arguments, 3), StringArgument(arguments, 4), StringArgument(arguments, 5)));
                }),
                QuickJsBridge.Function.RandomBytes => NewString(SecureRandomText.Bytes(NumberArgument(arguments, 0))),
                QuickJsBridge.Function.CollectGarbage => Undefined(_q.RunGc),
                QuickJsBridge.Function.LoadWebApis => EvaluateWebApis(),
                QuickJsBridge.Function.HostGrant => NewString(recorder.HostCalls.GrantJson()),
                QuickJsBridge.Function.HostCall => CallHost(recorder.HostCalls, arguments),
                QuickJsBridge.Function.HostReply => NewString(recorder.HostCalls.TakeReply()),
                _ => throw new GuestMemoryException(),
            };
        }
        catch (TrapException e)
        {
            _nestedTrap ??= e.Type;
            throw;
        }
        catch (EngineAbortException)
        {
            // Our own refusal inside a host call (out of memory): the call traps; Enter reads the flags.
            throw;
        }
    }

    /// <summary>
    /// A host call: its id, or the message of the RangeError it rejects with. The arguments' JSON is read only when
    /// its UTF-8 fits the grant's limit (the prelude's length check is a lower bound), never copied out otherwise.
    /// </summary>
    private int CallHost(HostCallState hostCalls, int[] arguments)
    {
        string name = StringArgument(arguments, 0);
        int maxBytes = hostCalls.MaxArgumentBytesOf(name);
        if (arguments.Length < 2 || _q.IsString(arguments[1]) == 0)
        {
            return NewString(HostCallWords.Failed(name));
        }
        string? json = ReadString(arguments[1], maxBytes, out long bytes);
        if (json is null)
        {
            return NewString(bytes > maxBytes ? hostCalls.ArgumentsTooLarge(name) : HostCallWords.Failed(name));
        }
        return hostCalls.Call(name, json) switch
        {
            double callId => Checked(_q.NewNumber(callId)),
            var refusal => NewString(refusal as string ?? HostCallWords.Failed(name)),
        };
    }

    /// <summary>
    /// A console entry. SECURITY: the prelude bounds an entry in UTF-16 units, but its UTF-8 can be three times
    /// longer, past what the host reads from the guest (<see cref="MaxGuestStringBytes"/>; a console limit of
    /// 22 MiB was enough): an entry longer in UTF-8 than the console limit is refused by its length, never
    /// copied out, so that it ends the execution as output_limit, not as Warden's internal_error.
    /// </summary>
    private bool Log(ExecutionRecorder recorder, int[] arguments)
    {
        string level = StringArgument(arguments, 0);
        double oversize = NumberArgument(arguments, 2);
        if (arguments.Length > 1 && _q.IsString(arguments[1]) != 0 && _limits is { } limits)
        {
            string? text = ReadString(arguments[1], limits.MaxConsoleBytes, out long bytes);
            return text is null && bytes > limits.MaxConsoleBytes ? recorder.Log(level, "", bytes) : recorder.Log(level, text ?? "", oversize);
        }
        return recorder.Log(level, StringArgument(arguments, 1), oversize);
    }

    /// <summary>
    /// The result's JSON. SECURITY: the prelude's count is a lower bound (an escaped character is six), so the
    /// JSON can pass what the host reads from the guest: JSON longer in UTF-8 than the result limit is refused
    /// by its length (output_limit, as the recorder refuses it), never copied out; JSON within the limit is
    /// read whatever its size (the limit may be set above <see cref="MaxGuestStringBytes"/>).
    /// </summary>
    private void Complete(ExecutionRecorder recorder, int[] arguments)
    {
        if (arguments.Length > 0 && _q.IsString(arguments[0]) != 0 && _limits is { } limits)
        {
            string? json = ReadString(arguments[0], limits.MaxResultBytes, out long bytes);
            if (json is null && bytes > limits.MaxResultBytes)
            {
                recorder.RefuseTooLargeResult();
                return;
            }
            recorder.Complete(json ?? "");
            return;
        }
        recorder.Complete(StringArgument(arguments, 0));
    }

    /// <summary>
    /// When QuickJS runs out of memory it throws an uncatchable InternalError, unless it cannot even allocate that
    /// error: it then throws <c>null</c>, which a script can catch and which the prelude reports as the script's
    /// failure ("Uncaught null"). So a failure reported while the guest's memory is at its cap is the cap's,
    /// decided by the store's state (its memory cannot grow), never by the failure's text. A script that fails
    /// for its own reasons with its memory full is reported as having reached its memory limit, which it has.
    /// </summary>
    private void RefuseAtMemoryCap()
    {
        if (Memory.Length > _budgetBytes - MemoryCapMarginBytes)
        {
            _outOfMemory = true;
            throw new EngineAbortException(EngineAbort.MemoryLimit);
        }
    }

    /// <summary>
    /// The web API bundle's completion value, a null-prototype record holding its factory (see web-globals.js),
    /// evaluated in this VM inside the execution: its fuel, memory and time count. Its own exception (the
    /// bundle catches everything, so only out of memory) is left pending and 0 returned.
    /// </summary>
    private int EvaluateWebApis()
    {
        int value = EvalBytecode(QuickJsPreparedModule.Current.WebApisBytecode);
        if (_q.IsException(value) != 0)
        {
            _q.FreeValue(value);
            return 0;
        }
        return value;
    }

    private int Undefined(Action action)
    {
        action();
        return Checked(_q.GetUndefined());
    }

    /// <summary>The prelude passes only strings and numbers; anything else is its bug, read as empty.</summary>
    private string StringArgument(int[] arguments, int index) =>
        index < arguments.Length && _q.IsString(arguments[index]) != 0 ? ReadString(arguments[index]) ?? "" : "";

    private double NumberArgument(int[] arguments, int index) =>
        index < arguments.Length && _q.IsNumber(arguments[index]) != 0 ? _q.GetFloat64(arguments[index]) : double.NaN;

    /// <summary>Frees values QuickJS handed over (the rejection tracker's, never enabled).</summary>
    internal void FreeValues(int first, int second)
    {
        _q.FreeValue(first);
        _q.FreeValue(second);
    }

    /// <summary>
    /// The name a module specifier stands for, resolved as on V8 (<see cref="ModuleNames.Resolve"/>) against the
    /// importing module, or the entry for an import from a classic script or the prelude. Returned as a new
    /// guest string QuickJS frees.
    /// </summary>
    /// <remarks>
    /// SECURITY: the specifier is any string the script likes (<c>import('x'.repeat(5000))</c>): one longer than
    /// any module name can be (<see cref="MaxModuleNameBytes"/>) is refused in the guest, as not found, never by
    /// a trap (which ended the execution as Warden's own internal_error). An importer that long is no
    /// submitted module, so imports from it resolve from the entry.
    /// </remarks>
    internal int NormalizeModuleName(int basePtr, int namePtr)
    {
        bool importerFits = TryReadCString(basePtr, MaxModuleNameBytes, out string importer);
        if (!TryReadCString(namePtr, MaxModuleNameBytes, out string specifier))
        {
            // The message quotes only the specifier's first characters: the prefix read stands for it.
            return ThrowNotFound(specifier + "...");
        }
        string resolved = ModuleNames.Resolve(importerFits && _modules.ContainsKey(importer) ? importer : ModuleNames.Entry, specifier);
        return WriteCString(resolved, out _);
    }

    /// <summary>The source of a submitted module, as a new guest string QuickJS frees; else a thrown Error.</summary>
    internal int LoadModule(int namePtr, int lengthPtr)
    {
        bool fits = TryReadCString(namePtr, MaxModuleNameBytes, out string name);
        string? source = null;
        if (fits && name == HostCallWords.ModuleName)
        {
            // The execution's warden:host, generated from its grant; unknown like any other name without one.
            source = _recorder?.HostCalls.ModuleSource;
        }
        if (!fits || (source is null && !_modules.TryGetValue(name, out source)))
        {
            return ThrowNotFound(fits ? name : name + "...");
        }
        int buffer = WriteCString(source, out int length);
        Memory.WriteInt32(lengthPtr, length);
        return buffer;
    }

    /// <summary>Throws, in the guest, the error an import of a module that was not submitted throws; returns 0 (the loader's failure).</summary>
    private int ThrowNotFound(string name)
    {
        int error = Checked(_q.NewError());
        int message = NewString(ModuleNames.NotFoundMessage(name));
        int key = WriteCString("message", out _);
        _q.SetPropString(error, key, message);
        _q.Free(key);
        _q.FreeValue(message);
        _q.FreeValue(_q.Throw(error));
        _q.FreeValue(error);
        return 0;
    }
}
