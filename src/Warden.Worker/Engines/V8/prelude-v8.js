// Warden's prelude for V8: evaluated in every fresh V8 context before any user code runs. Its
// bundle (build-prelude.mjs) is one classic script whose completion value is the factory below,
// which the worker calls once with (bridge, webAssembly, sharedMemory, userAgent, wordsJson).
//
// SECURITY: this is the wrapper around user code (docs/threat-model.md, "The prelude").
//  - The bundle is a single strict function expression. Its only object from .NET is `bridge`, a
//    host object with seven methods that take and return only primitives (Now, Log, Complete, Fail,
//    RandomBytes, CollectGarbage) — but for LoadWebApis, which returns the web API bundle's factory,
//    a function of our own embedded source evaluated in this isolate; it stays in the bundle's
//    closure and is never stored where user code can reach it (no global, no property of anything
//    user code can see). Strict mode keeps `caller`/`arguments` and CallSite.getThis/getFunction from
//    exposing our frames.
//  - Every built-in the prelude relies on is captured (Prelude/primordials.js) when the bundle is
//    evaluated, before user code can patch it. Patching globals later can only break the user's own
//    execution, never reach the bridge.
//  - Every value the user produced is inspected and serialised inside the isolate, under the
//    execution's limits (Prelude/result.js); .NET only ever receives bounded primitive strings.
//
// What is V8's here: the memory guards (V8's allocator limits and resizable buffers), its stack-trace
// text, and modules as ClearScript runs them. The rest is engine-neutral (Prelude/).
import { bindEngine } from '../../Prelude/engine.js';
import { readWords } from '../../Prelude/words.js';
import { createPrelude, entryPoint } from '../../Prelude/entry.js';
import { installMemoryGuards, setMemoryBudget, memoryRefusalLimit } from './memory-guards.js';
import { cleanStackText, stackHere, setDocuments } from './stack-text.js';
import { startModule, awaitModule } from './modules-v8.js';

// Returns the entry points [start, tick, awaitModule] the worker calls (each catches every
// exception: see entryPoint).
export default function createV8Prelude(bridge, enableWebAssembly, enableSharedMemory, userAgent, wordsJson) {
  readWords(wordsJson);
  bindEngine({ cleanStackText, stackHere, setDocuments, setMemoryBudget, memoryRefusalLimit });
  installMemoryGuards(bridge, enableWebAssembly, enableSharedMemory);
  const prelude = createPrelude(bridge, userAgent, startModule);
  return [prelude.start, prelude.tick, entryPoint(awaitModule, undefined)];
}
