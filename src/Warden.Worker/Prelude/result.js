// Results and errors: made here, inside the isolate and under the execution's limits, and handed to
// the host as bounded strings. Every value the user produced (result, thrown value) is inspected and
// serialised here; the host only ever receives bounded primitive strings.
import { ArrayIsArray, JSONStringify, StringCtor, ErrorCtor, ObjectHasOwn, StringSlice, StringValueOf } from './primordials.js';
import { SAFE_PREFIX_CHARS, hugeStringText, hasBrand, errorStack, renderValue } from './render.js';
import { uncaught } from './event-loop.js';
import { words, formatWord } from './words.js';
import { engine } from './engine.js';

// The bridge (set by installResult): Complete and Fail.
let bridge = null;
export let limits = null;
export let settled = false;
const RESULT_TOO_LARGE = { resultTooLarge: true };

function errorText(value) {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  if (typeof value === 'object' || typeof value === 'function') return '';
  return StringCtor(value);
}
function bound(text) {
  const max = limits.maxErrorTextBytes;
  if (text.length <= max) return text;
  // Cutting a rope flattens all of it: past SAFE_PREFIX_CHARS only its length is told.
  if (text.length > SAFE_PREFIX_CHARS) text = hugeStringText(text.length);
  return text.length > max ? StringSlice(text, 0, max - 3) + '\u2026' : text;
}

function describe(e) {
  // Runs attacker code (getters, proxy traps, prepareStackTrace) on purpose: it is inside the
  // isolate, under the watchdog; a hostile thrown value can only burn its own execution's time.
  let name = 'Error', message = '', stack = '';
  try {
    if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
      const n = e.name;
      name = typeof n === 'string' && n !== '' ? n : 'Error';
      message = errorText(e.message);
      if (message === '' && !(e instanceof ErrorCtor)) {
        message = 'Uncaught ' + renderValue(e, limits.maxErrorTextBytes, false);
      }
      const s = errorStack(e);
      stack = s !== undefined ? engine.cleanStackText(s, false) : '';
    } else {
      message = 'Uncaught ' + renderValue(e, limits.maxErrorTextBytes, false);
    }
  } catch (inner) {
    message = 'The thrown value could not be inspected';
  }
  return { name: bound(name), message: bound(message), stack: bound(stack) };
}

// `settled` is set only once the bridge has taken the outcome: if reporting itself fails (a
// script can call into here with its stack nearly exhausted), a later attempt can still report.
export function fail(e, phase) {
  if (settled) return;
  const d = describe(e);
  let limit = '';
  let status = words.scriptError;
  // Whether the thrown value is a refusal of memory is the engine's to say (its own refusals, told
  // apart by identity and an unchanged message: see the engine part).
  const refusedLimit = engine.memoryRefusalLimit(e, d.message);
  if (refusedLimit !== undefined) {
    status = words.memoryLimit;
    limit = refusedLimit;
  }
  bridge.Fail(status, limit, d.name, d.message, d.stack, phase);
  settled = true;
}

let serialising = false;
export function succeed(value) {
  if (settled || serialising) return;
  if (uncaught !== null) {
    // A callback threw before the result settled: that error ends the execution (as in Node).
    fail(uncaught.error, 'run');
    return;
  }
  serialising = true;
  let json;
  try {
    // The replacer returns every value unchanged (so the output is exactly JSON.stringify's) and
    // counts a lower bound of the output size as it goes, so a huge result is stopped early
    // instead of being built in full off-heap.
    let size = 0;
    let top = true;
    const max = limits.maxResultBytes;
    json = JSONStringify(value, function (k, v) {
      // A lower bound of the bytes this value adds to the output (the worker checks the exact
      // size afterwards): for a member, its separator and quoted key; for the value, its
      // quoted length if a string, else at least one character. Braces are not counted.
      // JSON.stringify converts a String object with ToString after this returns (a patched
      // toString could answer with a huge rope, which it would then copy): converted here
      // instead, counted, and returned as the primitive it serialises as anyway.
      // A String object always has an own, non-configurable `length`: that cheap test comes first,
      // so the (throwing, slow) brand check runs only for the few objects that pass it.
      if (v !== null && typeof v === 'object' && !ArrayIsArray(v) && ObjectHasOwn(v, 'length')
          && hasBrand(StringValueOf, v)) {
        v = StringCtor(v);
      }
      const omitted = v === undefined || typeof v === 'function' || typeof v === 'symbol';
      if (top) {
        top = false;
      } else if (ArrayIsArray(this)) {
        size += 1;
      } else if (omitted) {
        return v;   // left out of objects entirely
      } else {
        size += k.length + 4;
      }
      size += typeof v === 'string' ? v.length + 2 : 1;
      if (size > max) throw RESULT_TOO_LARGE;
      return v;
    });
  } catch (e) {
    serialising = false;
    if (e === RESULT_TOO_LARGE) {
      bridge.Fail(words.outputLimit, words.limitResult, words.outputLimitError, formatWord(words.resultTooLarge, limits.maxResultBytes), '', 'result');
      settled = true;
      return;
    }
    fail(e, 'result');
    return;
  }
  serialising = false;
  bridge.Complete(json === undefined ? 'null' : json);
  settled = true;
}

export function settleWith(value) {
  // `await` adopts promises and thenables without a species lookup, and its try/catch also
  // catches a throwing `then` or `constructor` getter: nothing a script plants can make an
  // exception escape the prelude into .NET (where ClearScript would inspect the thrown value).
  (async () => {
    let resolved;
    try {
      resolved = await value;
    } catch (e) {
      fail(e, 'run');
      return;
    }
    succeed(resolved);
  })();
}

export function installResult(theBridge) {
  bridge = theBridge;
}

// The limits of an execution, set by start() before any user code runs.
export function setLimits(maxConsoleBytes, maxResultBytes, maxErrorTextBytes) {
  limits = { maxConsoleBytes, maxResultBytes, maxErrorTextBytes };
}
