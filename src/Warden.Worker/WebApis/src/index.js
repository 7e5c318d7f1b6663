// The web APIs of a Warden isolate (docs/web-apis.md lists every global, its source and its limits).
//
// SECURITY: this bundle is evaluated in every isolate before user code, next to the prelude
// (docs/threat-model.md, "Web APIs"). It defines no global itself: it evaluates to one function that
// the prelude calls with the few host capabilities it needs (timers from the prelude's own queue, a
// CSPRNG read through the bridge that returns a bounded primitive string, the execution clock). It
// returns loaders; the prelude installs each global so that its code runs on first use only — an
// execution that uses none of them pays nothing but this file's (code-cached) compile.
//
// Everything here runs inside the isolate, under the execution's limits: a huge Blob, a deep
// structuredClone or a flood of AbortSignal.timeout timers is paid for in heap and CPU like any
// other allocation. Nothing here can reach .NET except through `host`.
import { createAbortApis } from './abort.js';
import { createBlob } from './blob.js';
import { createCrypto } from './crypto.js';
import { createPerformance } from './performance.js';
import { createNavigator } from './navigator.js';
import { createFetchApi } from './fetch.js';

export function createWebApis(host) {
  const once = (load) => {
    let value;
    let loaded = false;
    return () => {
      if (!loaded) {
        value = load();
        loaded = true;
      }
      return value;
    };
  };
  // Maintained implementations (package.json pins them): required lazily, so their module code
  // runs only when a script first touches one of their globals.
  const encoding = once(() => require('@exodus/bytes/encoding-lite.js'));
  // core-js: one group, loaded in dependency order (DOMException first, so structuredClone's
  // DataCloneError is the same class as the global).
  const coreJs = once(() => {
    const DOMException = require('core-js-pure/stable/dom-exception/index.js');
    return {
      DOMException,
      structuredClone: require('core-js-pure/stable/structured-clone.js'),
      atob: require('core-js-pure/stable/atob.js'),
      btoa: require('core-js-pure/stable/btoa.js'),
    };
  });
  const domException = () => coreJs().DOMException;
  const events = once(() => {
    const shim = require('event-target-shim');
    // A listener that throws is reported like an uncaught error in a timer (as browsers report it
    // to the global error handler); dispatchEvent itself carries on. No warnings on the console.
    shim.setErrorHandler((error) => host.reportError(error));
    shim.setWarningHandler(() => {});
    // WebIDL: the type argument is required (the shim would make an event of type "undefined").
    class Event extends shim.Event {
      constructor(type, eventInitDict = undefined) {
        if (arguments.length < 1) {
          throw new TypeError("Failed to construct 'Event': 1 argument required, but only 0 present.");
        }
        super(type, eventInitDict);
      }
    }
    return { ...shim, Event };
  });
  const url = once(() => require('whatwg-url'));
  const abort = once(() => createAbortApis(events(), domException(), host));
  const blob = once(() => createBlob(encoding()));
  const crypto = once(() => createCrypto(domException(), host));
  const performance = once(() => createPerformance(host));
  // Only reachable when the execution was granted origins: the prelude defines these four globals then, and
  // host.fetch (one request per call, re-checked in full by the host) refuses otherwise.
  const fetchApi = once(() => createFetchApi({
    URL: url().URL, URLSearchParams: url().URLSearchParams, Blob: blob(),
    AbortSignal: abort().AbortSignal, DOMException: domException(),
    TextEncoder: encoding().TextEncoder, TextDecoder: encoding().TextDecoder,
    send: host.fetch,
  }));

  return {
    TextEncoder: () => encoding().TextEncoder,
    TextDecoder: () => encoding().TextDecoder,
    structuredClone: () => coreJs().structuredClone,
    atob: () => coreJs().atob,
    btoa: () => coreJs().btoa,
    DOMException: domException,
    Event: () => events().Event,
    EventTarget: () => events().EventTarget,
    AbortController: () => abort().AbortController,
    AbortSignal: () => abort().AbortSignal,
    Blob: blob,
    URL: () => url().URL,
    URLSearchParams: () => url().URLSearchParams,
    Crypto: () => crypto().Crypto,
    crypto: () => crypto().crypto,
    Performance: () => performance().Performance,
    performance: () => performance().performance,
    navigator: () => createNavigator(host.userAgent),
    fetch: () => fetchApi().fetch,
    Headers: () => fetchApi().Headers,
    Request: () => fetchApi().Request,
    Response: () => fetchApi().Response,
  };
}
