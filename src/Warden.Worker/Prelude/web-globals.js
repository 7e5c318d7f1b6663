// Web APIs (WebApis/, docs/web-apis.md). Each global is an accessor until first read, then a
// plain data property. The first read of any of them has the host evaluate the bundle in this
// isolate (bridge.LoadWebApis: inside the execution, under its limits) and calls the bundle's
// factory with a null-prototype record of host capabilities, none of which is the bridge itself:
// timers from the event loop, the execution clock, and random bytes (a count out, a bounded string
// back). Executions that touch no web global never load the bundle.
import { global, ReflectApply, ReflectDefineProperty, ObjectFreeze, MathFloor, DateNow, newList } from './primordials.js';
import { addTimer, clearTimer, reportUncaught } from './event-loop.js';
import { sendFetch } from './host.js';

const MathImul = Math.imul;

// The bridge (set by installWebGlobals): Now, RandomBytes and LoadWebApis.
let bridge = null;
let webHost = null;
const coarseNow = () => MathFloor(bridge.Now() * 10) / 10;
let webApis = null;
// The execution's Math object, captured before user code runs.
const MathObject = Math;
// A fixed sequence in [0, 1) (a 32-bit LCG): what Math.random gives the libraries while they load.
function fixedRandom() {
  fixedRandomState = (ReflectApply(MathImul, undefined, [fixedRandomState, 1664525]) + 1013904223) >>> 0;
  return fixedRandomState / 4294967296;
}
let fixedRandomState = 1;
// The bundle's libraries draw ids from Math.random while they load (core-js), which made usage.fuel of the same
// submission differ from run to run on the quickjs engine (fuel must be deterministic): they load with a fixed
// sequence instead, and the script's own Math.random is back before the script sees any web global. Ids only;
// nothing of the web APIs' randomness (crypto) comes from Math.random.
function withFixedRandom(load) {
  const own = MathObject.random;
  let swapped = false;
  try {
    MathObject.random = fixedRandom;
    swapped = MathObject.random === fixedRandom;
  } catch { /* Math is frozen by the script: the libraries use its Math.random */ }
  try {
    return load();
  } finally {
    if (swapped) MathObject.random = own;
  }
}
function loadWebApi(name) {
  return withFixedRandom(() => {
    if (webApis === null) {
      // The bundle returns a null-prototype record, never throws into .NET (see WebApis/build.mjs):
      // a failure while it loads (a built-in the script patched) comes back here and is thrown in JS.
      const loaded = bridge.LoadWebApis();
      if (loaded.error !== undefined) throw loaded.error;
      webApis = loaded.createWebApis(webHost);
    }
    return webApis[name]();
  });
}
// Must match the keys createWebApis returns (WebApis/src/index.js); the conformance tests touch each.
const webNames = ['TextEncoder', 'TextDecoder', 'structuredClone', 'atob', 'btoa', 'DOMException', 'Event',
  'EventTarget', 'AbortController', 'AbortSignal', 'Blob', 'URL', 'URLSearchParams', 'Crypto', 'crypto',
  'Performance', 'performance', 'navigator'];
// While a library loads, every not-yet-loaded web global reads as undefined: libraries probe
// globals for native versions (core-js looks for structuredClone and DOMException), and reading
// one of ours would re-enter a module that is still initialising.
let loadingWebApi = false;
function defineLazyGlobal(name, load) {
  const settle = (value) => {
    ReflectDefineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
  };
  ReflectDefineProperty(global, name, {
    get() {
      if (loadingWebApi) return undefined;
      let value;
      loadingWebApi = true;
      try {
        value = load();
      } finally {
        loadingWebApi = false;
      }
      settle(value);
      return value;
    },
    set(value) { settle(value); },
    configurable: true,
    enumerable: false,
  });
}
// Only for an execution granted origins (entry.js): fetch and the classes that come with it, loaded like the
// other web globals on first use.
const fetchNames = ['fetch', 'Headers', 'Request', 'Response'];
export function installFetchGlobals() {
  for (let i = 0; i < fetchNames.length; i++) {
    const name = fetchNames[i];
    defineLazyGlobal(name, () => loadWebApi(name));
  }
}
export function installWebGlobals(theBridge, userAgent) {
  bridge = theBridge;
  // Assume a script gets hold of this record (a review did, through sloppy-mode library frames, since
  // closed): every entry must still be harmless. Only a number ever reaches the bridge, and the clock
  // is as coarse as performance.now()'s, so it is no sharper timer than the script already has.
  webHost = ObjectFreeze({ __proto__: null,
    setTimeout: (handler, ms) => addTimer(handler, ms, newList(), false),
    clearTimeout: clearTimer,
    randomBytes: (count) => (typeof count === 'number' ? bridge.RandomBytes(count) : ''),
    now: coarseNow,
    timeOrigin: () => DateNow() - coarseNow(),
    userAgent,
    reportError: reportUncaught,
    // One fetch request (a plain object the web APIs' fetch shaped) as a host call; a promise of the host's
    // answer. Harmless in a script's hands: it is what `fetch` itself does, under the same grant and limits,
    // and it refuses when no origin was granted.
    fetch: (frame) => sendFetch(frame),
  });
  for (let i = 0; i < webNames.length; i++) {
    const name = webNames[i];
    defineLazyGlobal(name, () => loadWebApi(name));
  }
  // As in a dedicated worker: `self` is the global object.
  ReflectDefineProperty(global, 'self', { value: global, writable: true, configurable: true, enumerable: true });
}
