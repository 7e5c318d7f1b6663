// The prelude's entry points for the host: start() runs the submission, tick() drives the event
// loop. Assembled by an engine's entry module (Engines/<engine>/prelude-*.js), which installs its
// own part first and returns these entry points from the factory the host calls.
//
// SECURITY: this is the wrapper around user code (docs/threat-model.md, "The prelude"). User code
// is never glued into wrapper text: classic scripts run through indirect eval of the untouched
// source, modules through the engine's module loader. No exception may leave an entry point (see
// entryPoint below).
import { global, ReflectApply, ReflectDefineProperty, JSONParse, IndirectEval, StringSplit } from './primordials.js';
import { installConsole, setConsoleBudget } from './console.js';
import { installTimers, uncaught, runNextTask } from './event-loop.js';
import { installWebGlobals, installFetchGlobals } from './web-globals.js';
import { installResult, setLimits, fail, settled, settleWith } from './result.js';
import { engine } from './engine.js';
import { installHost, readGrant, hostFunctionsGranted, fetchGranted, loadHostModule, deliverHostReplies } from './host.js';

// A module's namespace once its evaluation has settled (the engine part says when); its default
// export is then run from tick(), on the shallow stack of a call from the host.
let moduleNamespace = null;
export function moduleEvaluated(ns) {
  moduleNamespace = ns;
}

function runModuleDefault() {
  const ns = moduleNamespace;
  moduleNamespace = null;
  const exported = ns.default;
  if (typeof exported === 'function') {
    let value;
    try { value = exported(global.input); } catch (e) { fail(e, 'run'); return; }
    settleWith(value);
  } else {
    settleWith(exported);
  }
}

// The engine part's way of starting a module graph (set by createPrelude): startModule(entrySpecifier).
let startModule = null;

function start(inputJson, code, isModule, entrySpecifier, documentNames, maxConsoleBytes, maxResultBytes, maxErrorTextBytes, memoryBytes) {
  setLimits(maxConsoleBytes, maxResultBytes, maxErrorTextBytes);
  engine.setMemoryBudget(memoryBytes);
  setConsoleBudget(maxConsoleBytes);
  ReflectDefineProperty(global, 'input', {
    value: inputJson === null ? null : JSONParse(inputJson),
    writable: true, configurable: true, enumerable: true,
  });
  // One name a line (module names cannot hold control characters: the host refuses them).
  engine.setDocuments(entrySpecifier, StringSplit(documentNames, '\n'));
  // With origins granted, fetch and its classes exist (and only then). With host functions granted,
  // `warden:host` is evaluated first, before any user code runs (see host.js); the submission then starts once it is.
  const granted = readGrant();
  if (granted && fetchGranted()) {
    installFetchGlobals();
  }
  if (granted && hostFunctionsGranted()) {
    (async () => {
      try {
        await loadHostModule();
      } catch (e) {
        fail(e, 'run');
        return;
      }
      runSubmission(code, isModule, entrySpecifier);
    })();
    return;
  }
  runSubmission(code, isModule, entrySpecifier);
}

function runSubmission(code, isModule, entrySpecifier) {
  if (!isModule) {
    let completion;
    try {
      completion = IndirectEval(code);
    } catch (e) {
      // A SyntaxError here may be the parser's: the host then compiles the source (which runs no
      // code) to recover its line and column.
      fail(e, 'evaluate');
      return;
    }
    settleWith(completion);
    return;
  }
  startModule(entrySpecifier);
}

// -2: settled (the host stops); -1: nothing left that could settle the result; 0: something ran
// (call again); otherwise the time the next timer is due.
function tick() {
  if (uncaught !== null && !settled) {
    fail(uncaught.error, 'run');
  }
  if (settled) return -2;
  // Host calls' replies first: their reactions run when this entry ends, before the next turn.
  if (deliverHostReplies()) return 0;
  if (moduleNamespace !== null) {
    runModuleDefault();
    return 0;
  }
  return runNextTask();
}

// Entry points for the host. No exception may leave them: one that did would hand a value the
// script made to the engine's host binding (ClearScript inspects thrown values outside every limit:
// design.md).
export function entryPoint(fn, valueOnError) {
  return function (...args) {
    try {
      return ReflectApply(fn, undefined, args);
    } catch (e) {
      fail(e, 'run');
      return valueOnError;
    }
  };
}

// Installs the engine-neutral globals (console, timers, web APIs, `self`) after the engine part
// has installed its own, and returns the entry points start(...) and tick().
// `bridge` is the host object: ten methods that take and return only primitives (three of them for host calls: host.js), but for
// LoadWebApis, which returns the web API bundle's factory (kept in web-globals.js, never stored
// where user code can reach it).
export function createPrelude(bridge, userAgent, engineStartModule) {
  startModule = engineStartModule;
  installResult(bridge);
  installConsole(bridge);
  installTimers(bridge);
  installWebGlobals(bridge, userAgent);
  installHost(bridge);
  return { __proto__: null, start: entryPoint(start, undefined), tick: entryPoint(tick, -2) };
}
