// Replaces core-js-pure's internals/shared-store.js (build.mjs redirects it here). The original keeps
// core-js's internal state (a WeakMap of object states, well-known symbols, ...) on a global,
// `globalThis['__core-js_shared__']`, which a script could read — or plant before first use to be
// handed those records. Here the store is private to the bundle of one isolate.
'use strict';
module.exports = { versions: [] };
