using System.Text;
using Wasmtime;
using Warden.Protocol;

namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// One QuickJS VM in a Wasmtime store of its own, with the prelude already evaluated, made for exactly one
/// execution and then disposed (nothing of it survives: the store, its linear memory and its instance go
/// with it). QuickJS's side of <see cref="IEngineInstance"/>: Wasmtime's traps end here, turned into
/// <see cref="EngineAbortException"/>.
/// </summary>
/// <remarks>
/// The guest's API (quickjs-wasi's <c>qjs_*</c> exports) passes every JS value as a pointer to a heap box
/// that the caller owns and frees (<c>qjs_free_value</c>). Limits:
/// <list type="bullet">
/// <item>Memory: the store may grow its linear memory to the budget and no further (exact: the memory QuickJS
/// allocates from is that memory). QuickJS's out-of-memory error is uncatchable, so it always reaches the
/// host, which reads it as <see cref="EngineAbort.MemoryLimit"/>; a failure reported with the memory at the cap is
/// the cap's too (<see cref="RefuseAtMemoryCap"/>); no error text is parsed.</item>
/// <item>Time: the watchdog's <see cref="Interrupt"/> advances Wasmtime's epoch; the running store's deadline is
/// one epoch ahead, so the guest traps at its next check wherever it is.</item>
/// <item>Fuel: set before the execution's first entry, read after its last (<see cref="FuelConsumed"/>).</item>
/// <item>Stack: QuickJS's own limit (<see cref="QuickJsStackBytes"/>) makes deep recursion a catchable
/// RangeError; Wasmtime's stack limit (<see cref="QuickJsModule.MaxWasmStackBytes"/>) is the backstop, which
/// recursion inside QuickJS's C code reaches first (<see cref="EngineAbort.StackOverflow"/>, uncatchable).</item>
/// </list>
/// After any trap the VM is left as the trap found it (QuickJS's C state half-updated) and is never entered
/// again.
/// </remarks>
internal sealed partial class QuickJsInstance : IEngineInstance
{
    /// <summary>
    /// QuickJS's own stack limit for JS recursion, on the guest's C stack in linear memory (the module reserves
    /// more). Deep recursion then throws QuickJS's RangeError, as V8's does, long before Wasmtime's native limit.
    /// </summary>
    public const int QuickJsStackBytes = 256 << 10;

    /// <summary>The document name of a classic script: what its stack frames show (as on V8).</summary>
    private const string ClassicScriptName = "script.js";

    /// <summary>Fuel and epochs while the VM is prepared (before any user code): generous, but never unbounded.</summary>
    private const ulong PreparationFuel = 50_000_000_000;
    private const ulong FarEpochDeadline = 1UL << 40;

    /// <summary>"Unlimited" fuel: far more than any wall limit lets the guest burn (~5e9 units a second).</summary>
    private const ulong UnlimitedFuel = 1UL << 62;

    /// <summary>The most bytes the host reads as one string from the guest: above every output limit.</summary>
    private const int MaxGuestStringBytes = 64 << 20;

    /// <summary>
    /// The longest module name or specifier the loader reads, in UTF-8 bytes: far above any name the host accepts
    /// (256 characters), so a longer one is no submitted module.
    /// </summary>
    private const int MaxModuleNameBytes = 4096;

    /// <summary>The most arguments a bridge call takes (Fail: six).</summary>
    private const int MaxBridgeArguments = 8;

    /// <summary>What the prelude's event loop answers (see tick in Prelude/entry.js): settled, or pending with nothing left.</summary>
    private const double LoopSettled = -2, LoopIdle = -1;

    private readonly Store _store;
    /// <summary>Null in the VM that only compiles Warden's scripts, which has no bridge.</summary>
    private readonly ExecutionRecorder? _recorder;
    private readonly QuickJsExports _q;
    private readonly Dictionary<string, string> _modules = new(StringComparer.Ordinal);
    private readonly long _budgetBytes;

    /// <summary>
    /// How close to the budget the guest's memory must be for a failure to count as the memory cap's: the most
    /// dlmalloc leaves between the last grow the store allowed and the one it refused.
    /// </summary>
    private const long MemoryCapMarginBytes = 1L << 20;

    /// <summary>A scratch word in guest memory for the exports that write a length.</summary>
    private int _scratch;
    private int _start;
    private int _tick;
    private ulong _fuelAtStart;
    /// <summary>The running execution's limits (set by <see cref="Start"/>): what the console and the result may hold.</summary>
    private WireLimits? _limits;
    private long? _fuelConsumed;
    private bool _broken;

    /// <summary>Set when a guest allocation the host asked for failed, or QuickJS threw its out-of-memory error.</summary>
    private bool _outOfMemory;

    /// <summary>The first trap seen inside a host call (the outer entry then fails with a generic error).</summary>
    private TrapCode? _nestedTrap;

    private QuickJsInstance(Store store, ExecutionRecorder? recorder, Instance instance, long budgetBytes)
    {
        _store = store;
        _budgetBytes = budgetBytes;
        _recorder = recorder;
        Memory = new GuestMemory(instance.GetMemory("memory") ?? throw new InvalidOperationException("The QuickJS module exports no memory."));
        _q = new QuickJsExports(instance);
    }

    internal GuestMemory Memory { get; }

    /// <summary>
    /// A fresh store and VM with the prelude evaluated, its memory capped at the budget of <paramref name="memoryMb"/>:
    /// an instance of the prepared module (<see cref="QuickJsPreparedModule"/>), whose memory starts as a VM that
    /// was initialised and had the prelude evaluated (the image, in a reused memory slot); only <c>Math.random</c>'s
    /// seed is new.
    /// </summary>
    public static QuickJsInstance Create(int memoryMb, ExecutionRecorder recorder)
    {
        var prepared = QuickJsPreparedModule.Current;
        var store = NewStore(QuickJsModule.Engine, memoryMb);
        try
        {
            var instance = QuickJsModule.Linker.Instantiate(store, prepared.Module);
            var vm = new QuickJsInstance(store, recorder, instance, MemoryBudgets.BudgetBytes(memoryMb))
            {
                _start = prepared.Start,
                _tick = prepared.Tick,
                _scratch = prepared.Scratch,
            };
            store.SetData(vm);
            vm.ReseedMathRandom(prepared.RandomStateAddress);
            return vm;
        }
        catch (Exception e) when (e is WasmtimeException or EngineAbortException or GuestMemoryException)
        {
            store.Dispose();
            throw new EngineAbortException(EngineAbort.Fault);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Initialises a VM of the module as shipped and evaluates the prelude (<paramref name="preludeBytecode"/>) in it
    /// (Warden's own code only: no submission has run in this process when it is made, and none runs in this VM),
    /// then returns its whole memory, its stack pointer and where its entry points and <c>Math.random</c>'s state
    /// are: what every VM of <see cref="QuickJsPreparedModule"/> starts from.
    /// </summary>
    internal static QuickJsVmImage MakeImage(QuickJsPreparation preparation, byte[] preludeBytecode)
    {
        using var store = NewStore(preparation.Engine, PreparationMemoryMb);
        var instance = preparation.Linker.Instantiate(store, preparation.Module);
        var vm = new QuickJsInstance(store, null, instance, MemoryBudgets.BudgetBytes(PreparationMemoryMb));
        store.SetData(vm);
        vm.Prepare(preludeBytecode);
        int randomState = vm.FindFixedRandomState();
        int stackPointer = (int)(instance.GetGlobal("__stack_pointer")?.GetValue()
            ?? throw new InvalidOperationException("The QuickJS module exports no __stack_pointer."));
        var memory = instance.GetMemory("memory")!;
        byte[] bytes = memory.GetSpan(0, checked((int)memory.GetLength())).ToArray();
        return new QuickJsVmImage(bytes, stackPointer, vm._start, vm._tick, vm._scratch, randomState);
    }

    /// <summary>
    /// Compiles Warden's prelude and web API bundle to QuickJS bytecode in a VM of their own,
    /// which runs no code at all and is dropped afterwards. SECURITY: bytecode read out of a VM that had run a
    /// script could carry whatever that script made of the VM's memory into every later VM; this one runs none.
    /// </summary>
    internal static (byte[] Prelude, byte[] WebApis) CompileOwnScripts(QuickJsPreparation preparation, string prelude, string webApis)
    {
        using var store = NewStore(preparation.Engine, PreparationMemoryMb);
        var vm = new QuickJsInstance(store, null, preparation.Linker.Instantiate(store, preparation.Module), MemoryBudgets.BudgetBytes(PreparationMemoryMb));
        store.SetData(vm);
        vm._q.Initialize();
        if (vm._q.Init() != 0)
        {
            throw new InvalidOperationException("QuickJS did not initialise.");
        }
        vm._scratch = vm.Checked(vm._q.Malloc(8));
        return (vm.CompileScript(prelude, "warden:prelude"), vm.CompileScript(webApis, "warden:web-apis"));
    }

    /// <summary>The budget of the VMs that run only Warden's own code before any submission (the image's, the compiler's).</summary>
    private const int PreparationMemoryMb = 64;

    /// <summary>
    /// A store for one VM: one memory, capped at the budget of <paramref name="memoryMb"/> (the only memory QuickJS
    /// allocates from), one instance, one table; preparation's fuel and a far epoch deadline until the first entry.
    /// </summary>
    private static Store NewStore(Engine engine, int memoryMb)
    {
        var store = new Store(engine);
        store.SetLimits(memorySize: MemoryBudgets.BudgetBytes(memoryMb), tableElements: 100_000, instances: 1, tables: 1, memories: 1);
        store.Fuel = PreparationFuel;
        store.SetEpochDeadline(FarEpochDeadline);
        return store;
    }

    private byte[] CompileScript(string source, string name)
    {
        int code = WriteCString(source, out int length);
        int fileName = WriteCString(name, out _);
        int bytecode = _q.Compile(code, length, fileName, 0, 0, _scratch);
        _q.Free(code);
        _q.Free(fileName);
        if (bytecode == 0)
        {
            throw new InvalidOperationException($"QuickJS could not compile Warden's own script {name}.");
        }
        byte[] copy = Memory.Span(bytecode, Memory.ReadInt32(_scratch)).ToArray();
        _q.Free(bytecode);
        return copy;
    }

    /// <summary>
    /// The realtime clock QuickJS reads while it makes its context, in microseconds (a multiple of the clocks'
    /// 100 µs granularity, far from any real time: year ~2249). QuickJS seeds <c>Math.random</c>'s xorshift64*
    /// state from this clock and advances it once (for its hash seed), so that right after initialisation the
    /// state is <see cref="FixedClockRandomState"/>: found in memory, then replaced (<see cref="ReseedMathRandom"/>).
    /// </summary>
    internal const ulong FixedClockMicroseconds = 8_812_345_678_912_300;

    /// <summary><see cref="FixedClockMicroseconds"/> after one step of QuickJS's xorshift64* state update.</summary>
    internal static ulong FixedClockRandomState
    {
        get
        {
            ulong x = FixedClockMicroseconds;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            return x;
        }
    }

    /// <summary>Set only while QuickJS makes its context: the realtime clock it reads (QuickJsImports).</summary>
    internal long? FixedRealtimeNs { get; private set; }

    /// <summary>
    /// Where QuickJS keeps <c>Math.random</c>'s state in the image: the one place in its memory that holds
    /// <see cref="FixedClockRandomState"/> (found exactly once, else the module is refused).
    /// </summary>
    private int FindFixedRandomState()
    {
        var expected = BitConverter.GetBytes(FixedClockRandomState);
        var memory = Memory.Span(1, (int)Memory.Length - 1);
        int first = memory.IndexOf(expected);
        if (first < 0 || memory[(first + 1)..].IndexOf(expected) >= 0)
        {
            throw new InvalidOperationException("Math.random's state was not found exactly once in an initialised QuickJS VM.");
        }
        return first + 1;
    }

    /// <summary>
    /// SECURITY: gives <c>Math.random</c> 64 bits from the host's CSPRNG. Every VM starts from the same image, whose
    /// QuickJS seeded it from a fixed clock: left alone, every execution would replay one sequence (and QuickJS's
    /// own seeding, the clock in microseconds, is guessable from <c>Date.now()</c>). The state is checked to still
    /// be the image's before it is replaced: anything else refuses the VM (a worker fault), never runs with a
    /// fixed seed.
    /// </summary>
    private void ReseedMathRandom(int address)
    {
        if (!Memory.Span(address, 8).SequenceEqual(BitConverter.GetBytes(FixedClockRandomState)))
        {
            throw new InvalidOperationException("Math.random's state is not where the image put it.");
        }
        Span<byte> seed = stackalloc byte[8];
        do
        {
            System.Security.Cryptography.RandomNumberGenerator.Fill(seed);
        }
        while (BitConverter.ToUInt64(seed) == 0);   // xorshift64*'s state must not be zero
        seed.CopyTo(Memory.Span(address, 8));
    }

    /// <summary>Initialises QuickJS, gives it the bridge and evaluates the prelude (our own code only), for the image.</summary>
    private void Prepare(byte[] preludeBytecode)
    {
        _q.Initialize();
        FixedRealtimeNs = (long)FixedClockMicroseconds * 1000;
        int initialised = _q.Init();
        FixedRealtimeNs = null;
        if (initialised != 0)
        {
            throw new InvalidOperationException("QuickJS did not initialise.");
        }
        _q.SetMaxStackSize(QuickJsStackBytes);
        _q.SetModuleLoader(1);
        _scratch = Checked(_q.Malloc(8));
        int bridge = Checked(_q.NewObject());
        foreach (string name in QuickJsBridge.Names)
        {
            int nameBytes = WriteCString(name, out int length);
            int function = Checked(_q.NewHostFunction(nameBytes, length, 0));
            _q.Free(nameBytes);
            int key = WriteCString(name, out _);
            int set = _q.SetPropString(bridge, key, function);
            _q.Free(key);
            _q.FreeValue(function);
            if (set < 0)
            {
                throw new EngineAbortException(EngineAbort.Fault);
            }
        }
        int factory = EvaluateScript(preludeBytecode);
        int control = CallFunction(factory, [bridge, NewString(EmbeddedScripts.UserAgent), NewString(PreludeWords.Json)], freeArguments: true);
        _q.FreeValue(factory);
        _start = Checked(_q.GetPropUint32(control, 0));
        _tick = Checked(_q.GetPropUint32(control, 1));
        _q.FreeValue(control);
    }

    public void Start(ExecuteMessage request, Func<bool> mayContinue) => Enter(() =>
    {
        var limits = request.Limits;
        _limits = limits;
        _fuelAtStart = limits.Fuel > 0 ? (ulong)limits.Fuel : UnlimitedFuel;
        _store.Fuel = _fuelAtStart;
        _modules.Clear();
        var documents = new List<string>();
        if (request.Module)
        {
            _modules[ModuleNames.Entry] = request.Code;
            foreach (var (name, source) in request.Modules ?? new Dictionary<string, string>())
            {
                _modules[ModuleNames.Normalise(name)] = source;
            }
            documents.AddRange(_modules.Keys);
        }
        else
        {
            documents.Add(ClassicScriptName);
        }
        int[] arguments =
        [
            request.Input is null ? Checked(_q.GetNull()) : NewString(request.Input),
            NewString(request.Module ? "" : request.Code),
            Checked(request.Module ? _q.GetTrue() : _q.GetFalse()),
            NewString(request.Module ? ModuleNames.Entry : ClassicScriptName),
            NewString(string.Join('\n', documents)),
            Checked(_q.NewNumber(limits.MaxConsoleBytes)),
            Checked(_q.NewNumber(limits.MaxResultBytes)),
            Checked(_q.NewNumber(limits.MaxErrorTextBytes)),
            Checked(_q.NewNumber(MemoryBudgets.BudgetBytes(limits.MemoryMb))),
        ];
        _q.FreeValue(CallFunction(_start, arguments, freeArguments: true));
        RunJobs();
        return 0;
    });

    public EventLoopTurn Tick() => Enter(() =>
    {
        int value = CallFunction(_tick, [], freeArguments: false);
        double next = _q.IsNumber(value) != 0 ? _q.GetFloat64(value) : double.NaN;
        _q.FreeValue(value);
        bool ran = RunJobs();
        return next switch
        {
            LoopSettled => new EventLoopTurn(EventLoopState.Settled),
            // Jobs ran after the loop answered: what they did (settle the result, add a timer) is seen next turn.
            _ when ran && double.IsFinite(next) => new EventLoopTurn(EventLoopState.TimerPending, 0),
            LoopIdle => new EventLoopTurn(EventLoopState.Idle),
            _ when !double.IsFinite(next) => new EventLoopTurn(EventLoopState.Broken),
            _ => new EventLoopTurn(EventLoopState.TimerPending, next),
        };
    });

    /// <summary>
    /// QuickJS runs promise jobs only when the host asks (V8 runs its microtasks at the end of every call):
    /// all of them, until none is left, after every entry. A flood of jobs is stopped like any other code, by
    /// the epoch (each job is an entry into the guest) or the memory cap.
    /// </summary>
    private bool RunJobs()
    {
        bool ran = false;
        while (true)
        {
            int status = _q.ExecutePendingJob();
            if (status == 0)
            {
                return ran;
            }
            ran = true;
            if (status < 0)
            {
                // A job's own exception: promise reactions turn throws into rejections, so what arrives here is
                // QuickJS's uncatchable out-of-memory error, or a FinalizationRegistry callback's throw (dropped,
                // as the script could not have caught it anywhere either).
                int exception = _q.GetException();
                bool uncatchable = exception != 0 && _q.IsUncatchableError(exception) != 0;
                if (exception != 0)
                {
                    _q.FreeValue(exception);
                }
                if (exception == 0 || uncatchable)
                {
                    _outOfMemory = true;
                    throw new EngineAbortException(EngineAbort.MemoryLimit);
                }
            }
        }
    }

    /// <summary>
    /// Advances the engine's epoch: the running store (its deadline one epoch ahead) traps at its next check.
    /// Thread-safe and non-blocking. Stores being prepared have a far deadline and are not disturbed.
    /// </summary>
    public void Interrupt() => QuickJsModule.Engine.IncrementEpoch();

    public long MemoryInUseBytes() => Memory.Length;

    /// <summary>The fuel the execution used, from its first entry to its last: deterministic for a given submission.</summary>
    public long? FuelConsumed()
    {
        if (_fuelConsumed is null && _fuelAtStart != 0)
        {
            ulong remaining = _store.Fuel;
            _fuelConsumed = (long)(_fuelAtStart - Math.Min(remaining, _fuelAtStart));
        }
        return _fuelConsumed;
    }

    /// <summary>QuickJS's SyntaxError already names the line and column of the parser's position (in its stack).</summary>
    public ReportedFailure LocateSyntaxError(ExecuteMessage request, ReportedFailure failure) => failure;

    /// <summary>
    /// One entry into the guest, one epoch ahead of the watchdog. Wasmtime's traps (and the host's own
    /// refusals inside bridge calls) become the neutral kinds here; their text is dropped.
    /// </summary>
    private T Enter<T>(Func<T> entry)
    {
        if (_broken)
        {
            throw new EngineAbortException(EngineAbort.Fault);
        }
        _store.SetEpochDeadline(1);
        try
        {
            return entry();
        }
        catch (EngineAbortException)
        {
            _broken = true;
            throw;
        }
        catch (TrapException e)
        {
            _broken = true;
            throw new EngineAbortException(Classify(_nestedTrap ?? e.Type));
        }
        catch (WasmtimeException)
        {
            _broken = true;
            throw new EngineAbortException(_nestedTrap is { } nested ? Classify(nested) : _outOfMemory ? EngineAbort.MemoryLimit : EngineAbort.Fault);
        }
        catch (GuestMemoryException)
        {
            // A bad pointer from the guest, should Wasmtime hand the callback's own exception back unwrapped.
            _broken = true;
            throw new EngineAbortException(EngineAbort.Fault);
        }
        finally
        {
            _store.SetEpochDeadline(FarEpochDeadline);
        }
    }

    private EngineAbort Classify(TrapCode code) => code switch
    {
        TrapCode.Interrupt => EngineAbort.Interrupted,
        TrapCode.OutOfFuel => EngineAbort.FuelExhausted,
        TrapCode.StackOverflow => EngineAbort.StackOverflow,
        _ when _outOfMemory => EngineAbort.MemoryLimit,
        _ => EngineAbort.Fault,
    };

    public void Dispose()
    {
        // The store owns the instance and its memory: everything of this VM goes with it, trapped or not.
        _store.Dispose();
    }
}
