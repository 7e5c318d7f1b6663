namespace Warden.SeccompLab;

/// <summary>
/// What a worker must keep doing under its filter: every feature and every way an execution ends,
/// including the ones that make new threads (timers, the heap check on the thread pool), grow the
/// heaps (GC), trip each limit, and use ICU (Intl), the RNG and WebAssembly. One workload per engine:
/// each engine's worker gets the filter derived from its own workload.
/// </summary>
internal static class Workload
{
    public static (string Name, Submission Submission, OutcomeStatus Expected)[] For(string engine) => engine switch
    {
        "v8" => V8,
        "quickjs" => QuickJs,
        _ => throw new ArgumentException($"no workload for engine '{engine}' (v8, quickjs)"),
    };

    public static readonly (string Name, Submission Submission, OutcomeStatus Expected)[] V8 =
    [
        ("plain", new Submission { Code = "1 + 1" }, OutcomeStatus.Ok),
        ("input", new Submission { Code = "input.a * 2", InputJson = "{\"a\":21}" }, OutcomeStatus.Ok),
        ("module", new Submission { Code = "export default async function (i) { await null; return [i]; }", IsModule = true, InputJson = "3" }, OutcomeStatus.Ok),
        ("timers", new Submission { Code = "new Promise(r => { let n = 0; const t = setInterval(() => { if (++n === 5) { clearInterval(t); r(n); } }, 1); })" }, OutcomeStatus.Ok),
        ("console", new Submission { Code = "for (let i = 0; i < 200; i++) console.log('line', i, { i }); console.error(new Error('x'))" }, OutcomeStatus.Ok),
        ("throw", new Submission { Code = "throw new TypeError('boom')" }, OutcomeStatus.ScriptError),
        ("syntax", new Submission { Code = "let x = ;" }, OutcomeStatus.ScriptError),
        ("intl", new Submission { Code = "[new Intl.NumberFormat('de-DE').format(1234567.891), new Date(0).toLocaleString('ja-JP', { timeZone: 'UTC' }), 'ß'.toUpperCase(), ['b','a','ä'].sort(new Intl.Collator('de').compare)]" }, OutcomeStatus.Ok),
        ("random", new Submission { Code = "[Math.random(), new Set([1, 2]).size, new Map([[{}, 1]]).size]" }, OutcomeStatus.Ok),
        ("regexp", new Submission { Code = "'a'.repeat(1e5).replace(/a/g, 'b').length + /(\\w+)\\s(\\w+)/u.exec('hello world')[2].length" }, OutcomeStatus.Ok),
        ("gc-churn", new Submission { Code = "let keep = []; for (let i = 0; i < 3e5; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 5e4) keep = []; } keep.length" }, OutcomeStatus.Ok),
        ("big-buffers", new Submission { Code = "let t = 0; for (let i = 0; i < 20; i++) t += new Uint8Array(4 << 20).fill(1)[5]; t" }, OutcomeStatus.Ok),
        ("wasm", new Submission { Code = "const m = new WebAssembly.Memory({ initial: 64 }); new Uint8Array(m.buffer).fill(7); m.grow(64); m.buffer.byteLength" }, OutcomeStatus.Ok),
        ("cpu-limit", new Submission { Code = "while (true) {}", Limits = new ExecutionLimits { CpuMs = 100 } }, OutcomeStatus.Timeout),
        ("wall-limit", new Submission { Code = "new Promise(r => setTimeout(r, 1e6))", Limits = new ExecutionLimits { TimeoutMs = 100 } }, OutcomeStatus.Timeout),
        ("heap-limit", new Submission { Code = "const a = []; while (true) a.push({ x: 'y'.repeat(100) + a.length })", Limits = new ExecutionLimits { MemoryMb = 32 } }, OutcomeStatus.MemoryLimit),
        ("stack", new Submission { Code = "function f() { return f() + 1 } f()" }, OutcomeStatus.ScriptError),
        ("json", new Submission { Code = "JSON.parse(JSON.stringify(Array.from({ length: 1e5 }, (_, i) => ({ i })))).length" }, OutcomeStatus.Ok),
    ];

    /// <summary>
    /// The QuickJS worker's: a fresh Wasmtime store and instance per execution, so every case also
    /// instantiates the module again; and each way Wasmtime ends guest code — the epoch interrupt (CPU
    /// and wall limits, inside QuickJS's C loops too), fuel running out, the store refusing to grow the
    /// linear memory, and the native stack limit (a trap, i.e. a signal and its handler on the
    /// alternate stack) — plus the web APIs that reach the host (the CSPRNG, clocks).
    /// </summary>
    public static readonly (string Name, Submission Submission, OutcomeStatus Expected)[] QuickJs =
    [
        ("plain", new Submission { Code = "1 + 1" }, OutcomeStatus.Ok),
        ("input", new Submission { Code = "input.a * 2", InputJson = "{\"a\":21}" }, OutcomeStatus.Ok),
        ("module", new Submission { Code = "export default async function (i) { await null; return [i]; }", IsModule = true, InputJson = "3" }, OutcomeStatus.Ok),
        ("modules-import", new Submission { Code = "import { two } from './two.js'; export default () => two * 2", IsModule = true,
            Modules = new Dictionary<string, string> { ["./two.js"] = "export const two = 2;" } }, OutcomeStatus.Ok),
        ("timers", new Submission { Code = "new Promise(r => { let n = 0; const t = setInterval(() => { if (++n === 5) { clearInterval(t); r(n); } }, 1); })" }, OutcomeStatus.Ok),
        ("console", new Submission { Code = "for (let i = 0; i < 200; i++) console.log('line', i, { i }); console.error(new Error('x'))" }, OutcomeStatus.Ok),
        ("throw", new Submission { Code = "throw new TypeError('boom')" }, OutcomeStatus.ScriptError),
        ("syntax", new Submission { Code = "let x = ;" }, OutcomeStatus.ScriptError),
        ("web-apis", new Submission { Code = "[crypto.getRandomValues(new Uint8Array(64)).length, crypto.randomUUID().length, new URL('https://b\u00fccher.example/a/../b?c=1#d').href, "
            + "new URLSearchParams('a=1&b=2').get('b'), new TextDecoder().decode(new TextEncoder().encode('\u20ac\u00df')), structuredClone({ a: [1, new Map([[1, 2]])] }).a.length, "
            + "btoa(atob('aGk=')), new Blob(['xy']).size, AbortSignal.abort().aborted, performance.now() >= 0, Date.now() > 0, new Date(0).toISOString()]" }, OutcomeStatus.Ok),
        ("random", new Submission { Code = "[Math.random(), new Set([1, 2]).size, new Map([[{}, 1]]).size]" }, OutcomeStatus.Ok),
        ("regexp", new Submission { Code = "'a'.repeat(1e5).replace(/a/g, 'b').length + /(\\w+)\\s(\\w+)/u.exec('hello world')[2].length" }, OutcomeStatus.Ok),
        ("gc-churn", new Submission { Code = "let keep = []; for (let i = 0; i < 3e5; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 5e4) keep = []; } keep.length" }, OutcomeStatus.Ok),
        ("big-buffers", new Submission { Code = "let t = 0; for (let i = 0; i < 20; i++) t += new Uint8Array(4 << 20).fill(1)[5]; t" }, OutcomeStatus.Ok),
        ("json", new Submission { Code = "JSON.parse(JSON.stringify(Array.from({ length: 1e5 }, (_, i) => ({ i })))).length" }, OutcomeStatus.Ok),
        ("cpu-limit", new Submission { Code = "while (true) {}", Limits = new ExecutionLimits { CpuMs = 100 } }, OutcomeStatus.Timeout),
        ("wall-limit", new Submission { Code = "for (;;) {}", Limits = new ExecutionLimits { TimeoutMs = 150 } }, OutcomeStatus.Timeout),
        ("wall-timer", new Submission { Code = "new Promise(r => setTimeout(r, 1e6))", Limits = new ExecutionLimits { TimeoutMs = 100 } }, OutcomeStatus.Timeout),
        ("c-loop-limit", new Submission { Code = "/(a+)+$/.test('a'.repeat(40) + '!')", Limits = new ExecutionLimits { TimeoutMs = 150 } }, OutcomeStatus.Timeout),
        ("fuel", new Submission { Code = "while (true) {}", Limits = new ExecutionLimits { Fuel = 50_000_000, TimeoutMs = 30_000 } }, OutcomeStatus.Timeout),
        ("heap-limit", new Submission { Code = "const a = []; while (true) a.push({ x: 'y'.repeat(100) + a.length })", Limits = new ExecutionLimits { MemoryMb = 32 } }, OutcomeStatus.MemoryLimit),
        ("buffer-bomb", new Submission { Code = "const keep = []; for (;;) keep.push(new ArrayBuffer(1 << 20))", Limits = new ExecutionLimits { MemoryMb = 32 } }, OutcomeStatus.MemoryLimit),
        ("huge-buffer", new Submission { Code = "new ArrayBuffer(2 ** 30); 1", Limits = new ExecutionLimits { MemoryMb = 32 } }, OutcomeStatus.MemoryLimit),
        ("stack", new Submission { Code = "function f() { return f() + 1 } f()" }, OutcomeStatus.ScriptError),
        ("native-stack", new Submission { Code = "JSON.parse('['.repeat(1e5) + ']'.repeat(1e5))" }, OutcomeStatus.ScriptError),
    ];
}
