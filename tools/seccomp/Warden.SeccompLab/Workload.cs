namespace Warden.SeccompLab;

/// <summary>
/// What a worker must keep doing under its filter: every feature and every way an execution ends,
/// including the ones that make new threads (timers, the heap check on the thread pool), grow the
/// heaps (GC), trip each limit, and use ICU (Intl), the RNG and WebAssembly.
/// </summary>
internal static class Workload
{
    public static readonly (string Name, Submission Submission, OutcomeStatus Expected)[] Cases =
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
}
