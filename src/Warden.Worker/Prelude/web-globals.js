// Web APIs (WebApis/, docs/web-apis.md). Each global is an accessor until first read, then a
// plain data property. The first read of any of them has the host evaluate the bundle in this
// isolate (bridge.LoadWebApis: inside the execution, under its limits) and calls the bundle's
// factory with a null-prototype record of host capabilities, none of which is the bridge itself:
// timers from the event loop, the execution clock, and random bytes (a count out, a bounded string
// back). Executions that touch no web global never load the bundle.
import { global, ReflectDefineProperty, ObjectFreeze, MathFloor, DateNow, newList } from './primordials.js';
import { addTimer, clearTimer, reportUncaught } from './event-loop.js';

// The bridge (set by installWebGlobals): Now, RandomBytes and LoadWebApis.
let bridge = null;
let webHost = null;
const coarseNow = () => MathFloor(bridge.Now() * 10) / 10;
let webApis = null;
function loadWebApi(name) {
  if (webApis === null) {
    // The bundle returns a null-prototype record, never throws into .NET (see WebApis/build.mjs):
    // a failure while it loads (a built-in the script patched) comes back here and is thrown in JS.
    const loaded = bridge.LoadWebApis();
    if (loaded.error !== undefined) throw loaded.error;
    webApis = loaded.createWebApis(webHost);
  }
  return webApis[name]();
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
  });
  for (let i = 0; i < webNames.length; i++) {
    const name = webNames[i];
    defineLazyGlobal(name, () => loadWebApi(name));
  }
  // As in a dedicated worker: `self` is the global object.
  ReflectDefineProperty(global, 'self', { value: global, writable: true, configurable: true, enumerable: true });
}
