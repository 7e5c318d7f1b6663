// Warden's prelude for QuickJS: evaluated in every fresh QuickJS VM before any user code runs. Its
// bundle (build-prelude.mjs) is one classic script whose completion value is the factory below,
// which the worker calls once with (bridge, userAgent, wordsJson).
//
// SECURITY: this is the wrapper around user code (docs/threat-model.md, "The prelude"), as on V8:
//  - `bridge` is a null-prototype record of host functions (QuickJsBridge.cs) that take and return
//    only primitives, but for LoadWebApis, which returns the web API bundle's factory record (our own
//    embedded source, evaluated in this VM). It stays in the bundle's closure, never on a global.
//  - Every built-in the prelude relies on is captured (Prelude/primordials.js) before user code runs.
//  - Every value the user produced is serialised inside the VM under the execution's limits; .NET
//    only ever receives bounded primitive strings.
// What is QuickJS's here: its stack-trace text and modules as QuickJS runs them. QuickJS needs no
// memory guards (the store's limit on linear memory is exact, and QuickJS's out-of-memory error is
// uncatchable, so the host decides memory_limit) and no built-in guards (Wasmtime's epoch interruption
// stops any code, a built-in's included).
import {
  ErrorCtor, StringSlice, StringSplit, StringReplace, RegExpExec, ArrayPush, ArrayPop, ArrayJoin, newList,
  ReflectDefineProperty, ReflectDeleteProperty, ReflectGetPrototypeOf, uncurry, global,
} from '../../Prelude/primordials.js';
import { bindEngine } from '../../Prelude/engine.js';
import { readWords } from '../../Prelude/words.js';
import { createPrelude, entryPoint, moduleEvaluated } from '../../Prelude/entry.js';
import { fail, settled } from '../../Prelude/result.js';
import { boundedStackLines } from '../../Prelude/stack-lines.js';

// Captured before any user code runs.
const SyntaxErrorCtor = SyntaxError;


// The documents of the submission (set by start()): what a kept frame may name, and the name given
// to a classic script's frames (QuickJS names code run by indirect eval "<input>").
let userDocuments = newList();
let scriptName = 'script.js';
function setDocuments(entryName, documentNames) {
  scriptName = entryName;
  for (let i = 0; i < documentNames.length; i++) ArrayPush(userDocuments, documentNames[i]);
}

function isUserDocument(name) {
  for (let i = 0; i < userDocuments.length; i++) if (userDocuments[i] === name) return true;
  return false;
}

// QuickJS writes frames as "    at f (doc:L:C)", "    at doc:L:C" or "    at f (native)".
// SECURITY: as on V8, a frame is kept only if it names a document of the submission (a classic
// script's "<input>" included) or is a built-in ("native"): stack text repeats the message, so a
// thrown string could otherwise plant frames naming any path, and Warden's own frames must not show.
function cleanStackText(stack, keepHeader) {
  const lines = boundedStackLines(stack);
  if (typeof lines === 'string') return lines;
  const kept = newList();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const trimmed = StringReplace(line, /^\s+/, '');
    const frame = RegExpExec(/^at (?:(.*) \((.*)\)|(.*))$/, trimmed);
    if (frame === null) {
      if (keepHeader && line !== '') ArrayPush(kept, line);
      continue;
    }
    const name = frame[1];
    const where = frame[2] !== undefined ? frame[2] : frame[3];
    if (where === 'native') {
      ArrayPush(kept, '    at ' + name + ' (native)');
      continue;
    }
    const position = RegExpExec(/^(.*?)(:\d+(?::\d+)?)$/, where);
    if (position === null) continue;
    const doc = position[1] === '<input>' ? scriptName : position[1];
    if (!isUserDocument(doc)) continue;
    const at = doc + position[2];
    ArrayPush(kept, name === undefined || name === '<eval>' || name === '<anonymous>' ? '    at ' + at : '    at ' + name + ' (' + at + ')');
  }
  // Built-in frames at the bottom were called by the prelude (JSON.stringify of the result), not by user code.
  while (kept.length > 0 && RegExpExec(/\(native\)$/, kept[kept.length - 1]) !== null) ArrayPop(kept);
  return ArrayJoin(kept, '\n');
}

function stackHere() {
  const stack = new ErrorCtor().stack;
  if (typeof stack !== 'string') return '';
  // Drop the frames of stackHere and of console.trace's own wrapper (the first two).
  const lines = StringSplit(stack, '\n');
  const rest = newList();
  for (let i = 2; i < lines.length; i++) ArrayPush(rest, lines[i]);
  return cleanStackText(ArrayJoin(rest, '\n'), false);
}

// Modules: QuickJS loads, links and evaluates the graph inside import() (through the host's loader,
// InMemoryModules on the .NET side) and settles the import only when evaluation has finished, top-level
// await included: a rejection is a failure to load, parse or link (phase "module") or a throw during
// evaluation (phase "run"); QuickJS tells them apart by whether the entry's evaluation began, which
// only the script can see, so a SyntaxError is taken as the parser's (a module's own `throw new
// SyntaxError()` at its top level is reported as phase "module" too).
function startModule(specifier) {
  (async () => {
    let ns;
    try {
      ns = await import(specifier);
    } catch (e) {
      let phase = 'run';
      try { if (e instanceof SyntaxErrorCtor) phase = 'module'; } catch { /* a hostile value: report it as thrown */ }
      fail(e, phase);
      return;
    }
    if (!settled) moduleEvaluated(ns);
  })();
}

// SECURITY: QuickJS-NG's call sites (what Error.prepareStackTrace receives) answer getFunction() with
// the function of ANY frame, strict or not (V8 answers undefined for strict code): a script could take
// the prelude's own closures off the stack (start, fail, emitEntry, tick...) and call them with its own
// arguments, e.g. start() with larger limits. So getFunction is replaced, before any user code runs, by
// one that answers only for frames of the submission's own documents (a classic script's "<input>"
// included), and made non-writable and non-configurable; the original stays in this closure.
function guardCallSites() {
  let sites = null;
  // Error.prepareStackTrace is QuickJS's own accessor (it keeps the function in the context): set and
  // reset through it, so that it stays as a fresh VM has it.
  ErrorCtor.prepareStackTrace = (e, callSites) => { sites = callSites; return ''; };
  new ErrorCtor();
  ErrorCtor.prepareStackTrace = undefined;
  const proto = ReflectGetPrototypeOf(sites[0]);
  const originalGetFunction = uncurry(proto.getFunction);
  const getFileName = uncurry(proto.getFileName);
  const guarded = {
    getFunction() {
      const file = getFileName(this);
      return file === '<input>' || isUserDocument(file) ? originalGetFunction(this) : undefined;
    },
  };
  ReflectDefineProperty(proto, 'getFunction', { value: guarded.getFunction, writable: false, configurable: false, enumerable: false });
}

// SECURITY: in this QuickJS build an InternalError is uncatchable (so that its out-of-memory error cannot be
// swallowed), the script's own `new InternalError()` included: thrown, it passed every catch, the
// prelude's too, and the host read it as the memory cap's (a forged memory_limit, with the whole budget
// reported as used). V8 has no such global; it is removed before any user code runs, so that the only
// InternalErrors are the engine's own.
function removeInternalError() {
  ReflectDeleteProperty(global, 'InternalError');
}

// Shared memory is not offered on this engine, whatever the operator's switches (the VM has no threads and
// QuickJS-NG's WebAssembly build no Atomics): SharedArrayBuffer is removed as on V8 without EnableSharedMemory,
// so the same script sees the same globals on both engines.
function removeSharedMemory() {
  ReflectDeleteProperty(global, 'SharedArrayBuffer');
  ReflectDeleteProperty(global, 'Atomics');
}

// The store's limit is the budget, enforced by Wasmtime; nothing to do in the VM.
function setMemoryBudget() {}
// QuickJS's out-of-memory error is uncatchable: it never reaches the prelude's handlers.
function memoryRefusalLimit() { return undefined; }

// Returns the entry points [start, tick] the worker calls (each catches every exception: see entryPoint).
export default function createQuickJsPrelude(bridge, userAgent, wordsJson) {
  guardCallSites();
  removeInternalError();
  removeSharedMemory();
  readWords(wordsJson);
  bindEngine({ cleanStackText, stackHere, setDocuments, setMemoryBudget, memoryRefusalLimit });
  const prelude = createPrelude(bridge, userAgent, startModule);
  return [prelude.start, prelude.tick];
}
