using Wasmtime;

namespace Warden.Worker.Engines.QuickJs;

/// <summary>
/// The QuickJS module's exports the host calls (quickjs-wasi's <c>qjs_*</c> API and its allocator), bound
/// once per instance as typed delegates. Every JS value crosses as a pointer to a heap box; a null pointer
/// is a failed allocation.
/// </summary>
internal sealed class QuickJsExports(Instance instance)
{
    public readonly Action Initialize = Action(instance, "_initialize");
    public readonly Func<int> Init = Func<int>(instance, "qjs_init");
    public readonly Action<int> SetMaxStackSize = Action<int>(instance, "qjs_set_max_stack_size");
    public readonly Action<int> SetModuleLoader = Action<int>(instance, "qjs_set_module_loader");
    public readonly Action RunGc = Action(instance, "qjs_run_gc");
    public readonly Func<int, int, int, int, int, int, int> Compile = Func<int, int, int, int, int, int, int>(instance, "qjs_compile");
    public readonly Func<int, int, int> EvalBytecode = Func<int, int, int>(instance, "qjs_eval_bytecode");
    public readonly Func<int, int, int, int, int> Call = Func<int, int, int, int, int>(instance, "qjs_call");
    public readonly Func<int, int, int> NewString = Func<int, int, int>(instance, "qjs_new_string");
    public readonly Func<double, int> NewNumber = Func<double, int>(instance, "qjs_new_number");
    public readonly Func<int> NewObject = Func<int>(instance, "qjs_new_object");
    public readonly Func<int> NewError = Func<int>(instance, "qjs_new_error");
    public readonly Func<int> GetUndefined = Func<int>(instance, "qjs_get_undefined");
    public readonly Func<int> GetNull = Func<int>(instance, "qjs_get_null");
    public readonly Func<int> GetTrue = Func<int>(instance, "qjs_get_true");
    public readonly Func<int> GetFalse = Func<int>(instance, "qjs_get_false");
    public readonly Func<int, int, int, int> NewHostFunction = Func<int, int, int, int>(instance, "qjs_new_host_function");
    public readonly Func<int, int, int, int> SetPropString = Func<int, int, int, int>(instance, "qjs_set_prop_string");
    public readonly Func<int, int, int> GetPropUint32 = Func<int, int, int>(instance, "qjs_get_prop_uint32");
    public readonly Func<int, double> GetFloat64 = Func<int, double>(instance, "qjs_get_float64");
    public readonly Func<int, int, int> GetStringLength = Func<int, int, int>(instance, "qjs_get_string_len");
    public readonly Action<int> FreeCString = Action<int>(instance, "qjs_free_cstring");
    public readonly Action<int> FreeValue = Action<int>(instance, "qjs_free_value");
    public readonly Func<int, int> IsException = Func<int, int>(instance, "qjs_is_exception");
    public readonly Func<int, int> IsUncatchableError = Func<int, int>(instance, "qjs_is_uncatchable_error");
    public readonly Func<int, int> IsNumber = Func<int, int>(instance, "qjs_is_number");
    public readonly Func<int, int> IsString = Func<int, int>(instance, "qjs_is_string");
    public readonly Func<int> GetException = Func<int>(instance, "qjs_get_exception");
    public readonly Func<int, int> Throw = Func<int, int>(instance, "qjs_throw");
    public readonly Func<int> ExecutePendingJob = Func<int>(instance, "qjs_execute_pending_job");
    public readonly Func<int, int> Malloc = Func<int, int>(instance, "wasm_malloc");
    public readonly Action<int> Free = Action<int>(instance, "wasm_free");

    private static Action Action(Instance instance, string name) =>
        instance.GetAction(name) ?? throw Missing(name);

    private static Action<TA> Action<TA>(Instance instance, string name) =>
        instance.GetAction<TA>(name) ?? throw Missing(name);

    private static Func<TR> Func<TR>(Instance instance, string name) where TR : struct =>
        instance.GetFunction<TR>(name) ?? throw Missing(name);

    private static Func<TA, TR> Func<TA, TR>(Instance instance, string name) where TR : struct =>
        instance.GetFunction<TA, TR>(name) ?? throw Missing(name);

    private static Func<TA, TB, TR> Func<TA, TB, TR>(Instance instance, string name) where TR : struct =>
        instance.GetFunction<TA, TB, TR>(name) ?? throw Missing(name);

    private static Func<TA, TB, TC, TR> Func<TA, TB, TC, TR>(Instance instance, string name) where TR : struct =>
        instance.GetFunction<TA, TB, TC, TR>(name) ?? throw Missing(name);

    private static Func<TA, TB, TC, TD, TR> Func<TA, TB, TC, TD, TR>(Instance instance, string name) where TR : struct =>
        instance.GetFunction<TA, TB, TC, TD, TR>(name) ?? throw Missing(name);

    private static Func<TA, TB, TC, TD, TE, TF, TR> Func<TA, TB, TC, TD, TE, TF, TR>(Instance instance, string name) where TR : struct =>
        instance.GetFunction<TA, TB, TC, TD, TE, TF, TR>(name) ?? throw Missing(name);

    private static InvalidOperationException Missing(string name) => new($"The QuickJS module does not export {name} as Warden expects.");
}
