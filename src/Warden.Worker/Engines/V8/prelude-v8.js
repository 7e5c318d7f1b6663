// Warden's prelude for V8: evaluated in every fresh V8 context before any user code runs. Its
// bundle (build-prelude.mjs) is one classic script whose completion value is the factory below,
// which the worker calls once with (bridge, webAssembly, sharedMemory, userAgent, wordsJson).
//
// SECURITY: this is the wrapper around user code (docs/threat-model.md, "The prelude").
//  - The bundle is a single strict function expression. Its only object from .NET is `bridge`, a
//    host object with ten methods that take and return only primitives (Now, Log, Complete, Fail,
//    RandomBytes, CollectGarbage, and HostGrant, HostCall, HostReply for host calls) — but for LoadWebApis, which returns the web API bundle's factory,
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
import { TypeErrorCtor } from '../../Prelude/primordials.js';
import { bindEngine } from '../../Prelude/engine.js';
import { readWords } from '../../Prelude/words.js';
import { createPrelude, entryPoint } from '../../Prelude/entry.js';
import { installMemoryGuards, setMemoryBudget, memoryRefusalLimit } from './memory-guards.js';
import { cleanStackText, stackHere, setDocuments } from './stack-text.js';
import { startModule, awaitModule } from './modules-v8.js';

// The bridge as the rest of the prelude sees it: the host object behind a JS record that stops
// calling it once revoke() ran (the worker calls it just before it disposes this context).
//
// SECURITY: in a warm isolate (IsolationUnit Context) the isolate outlives this context, and V8 may
// still run this context's code after the context was disposed: a promise settled by a V8 task
// (WebAssembly.compile/instantiate, Atomics.waitAsync) runs its reactions when the isolate is next
// entered, i.e. during a later execution. ClearScript frees its native side of a context's host
// objects when the context is disposed, and a call into the host object after that is a use after
// free in native code (measured: a late console.log from an earlier execution crashed the worker with
// SIGSEGV; Isolation/WarmContextLeakTests). The .NET side's own revocation (SandboxBridge) is never
// reached then, so the prelude must not call the host object at all once revoked.
function revocableBridge(hostBridge) {
  let host = hostBridge;
  const bridge = {
    __proto__: null,
    Now: () => (host === null ? 0 : host.Now()),
    LoadWebApis: () => (host === null ? { __proto__: null, error: new TypeErrorCtor('this execution is over') } : host.LoadWebApis()),
    CollectGarbage: () => { if (host !== null) host.CollectGarbage(); },
    RandomBytes: (count) => (host === null ? '' : host.RandomBytes(count)),
    Log: (level, text, oversizeChars) => host !== null && host.Log(level, text, oversizeChars),
    Complete: (json) => { if (host !== null) host.Complete(json); },
    Fail: (status, limit, name, message, stack, phase) => { if (host !== null) host.Fail(status, limit, name, message, stack, phase); },
    HostGrant: () => (host === null ? '' : host.HostGrant()),
    HostCall: (name, json) => (host === null ? '' : host.HostCall(name, json)),
    HostReply: () => (host === null ? '' : host.HostReply()),
  };
  return [bridge, () => { host = null; }];
}

// Returns the entry points [start, tick, awaitModule, revoke] the worker calls (each catches every
// exception: see entryPoint).
export default function createV8Prelude(hostBridge, enableWebAssembly, enableSharedMemory, userAgent, wordsJson) {
  const [bridge, revoke] = revocableBridge(hostBridge);
  readWords(wordsJson);
  bindEngine({ cleanStackText, stackHere, setDocuments, setMemoryBudget, memoryRefusalLimit });
  installMemoryGuards(bridge, enableWebAssembly, enableSharedMemory);
  const prelude = createPrelude(bridge, userAgent, startModule);
  return [prelude.start, prelude.tick, entryPoint(awaitModule, undefined), entryPoint(revoke, undefined)];
}
