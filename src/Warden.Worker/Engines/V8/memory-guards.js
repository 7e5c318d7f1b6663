// V8's memory guards: what the prelude removes and wraps because V8's limits cannot account for it.
//
// SECURITY: part of the wrapper around user code (docs/threat-model.md, "The prelude"). Installed
// by the factory before any user code runs; every built-in used here was captured before that.
import {
  global, ReflectApply, ReflectConstruct, ReflectDefineProperty, ReflectDeleteProperty, ObjectGetOwnPropertyDescriptor,
  ObjectHasOwn, MathMax, MathTrunc, MathCeil, NumberIsNaN, RangeErrorCtor, TypeErrorCtor, WeakMapCtor, WeakRefCtor,
  FinalizationRegistryCtor, ProxyCtor, newList, uncurry, StringStartsWith, ArrayPush, WeakMapGet, WeakMapSet,
  WeakRefDeref, typedArrayNames,
} from '../../Prelude/primordials.js';
import { queueCleanup } from '../../Prelude/event-loop.js';
import { words } from '../../Prelude/words.js';

// The bridge (set by installMemoryGuards): CollectGarbage only.
let bridge = null;

// Allocating constructors. MaxArrayBufferAllocation makes V8 refuse a backing store with a
// RangeError that scripts can catch, and a script can throw a look-alike. Each constructor that
// allocates one is wrapped: when it is called with a length, the length is converted here first,
// so the engine call below runs no script code and a RangeError it throws is the engine's own.
// That error object is remembered (by identity, out of the script's reach); only it, thrown
// uncaught, counts as memory_limit. Other call forms (iterables, array-likes) run script code
// while allocating, so a refusal there is reported as the RangeError it is.
// Refusals: the error object (by identity) -> its message when it was recorded. Only errors whose
// own message then said "Array buffer allocation failed" are kept, and fail() requires the message
// to be unchanged: a genuine RangeError of another kind (an invalid length), caught and relabelled
// by the script, stays a script_error.
const refusals = new WeakMapCtor();
const RefusalGet = WeakMapGet;
const RefusalSet = WeakMapSet;
function recordRefusal(e) {
  // Read as an own data property: the engine's error has one; a getter or a patched prototype
  // cannot answer for it.
  const own = ObjectGetOwnPropertyDescriptor(e, 'message');
  const message = own !== undefined && ObjectHasOwn(own, 'value') ? own.value : undefined;
  if (typeof message === 'string' && message.length < 4096 && StringStartsWith(message, ALLOCATION_FAILED)) {
    RefusalSet(refusals, e, message);
  }
}
const ALLOCATION_FAILED = 'Array buffer allocation failed';

// Resizable ArrayBuffers and growable SharedArrayBuffers (ES2024). V8 reserves `maxByteLength` of
// address space for each and commits pages as it grows, all outside ClearScript's ArrayBuffer
// allocator: MaxArrayBufferAllocation never sees them. So the prelude counts them itself:
//  - bytes: the byteLength of every live one, against the execution's memory budget (start());
//  - count: each live one holds about two memory mappings (the committed part and the reserved
//    rest); measured, ~32,700 live ones exhaust the kernel's 65,530 and abort V8 (worker lost);
//  - reservation: their maxByteLengths together, so address space is never exhausted either.
// A creation or growth past any of these is refused with a RangeError of our own, remembered in
// `refusals` like the engine's, so that uncaught it is memory_limit ("arrayBuffer").
// Liveness: each buffer has a small token (its counted sizes), held weakly by the buffer through a
// WeakMap and seen through a WeakRef. A WeakRef keeps its target alive until the current job ends,
// so it points at the token, never at the buffer: a dropped buffer is collected as usual, and its
// token dies with it. Past a cap, the counters are re-summed from the tokens still alive; a token
// made in the current turn of the event loop is alive until V8 empties the microtask queue (awaits
// do not end the turn), so buffers made and dropped in one turn count until it ends (docs/limits.md).
// The byteLength of a live buffer changes only through resize/grow and transfer (wrapped below) or
// detaching (transfer, transferToFixedLength, structuredClone's transfer: all through the wrapped
// methods), so the tokens stay exact without holding the buffers.
const MAX_LIVE_RESIZABLE = 20000;
const MAX_RESIZABLE_RESERVATION = 64 * 1024 * 1024 * 1024;
const PAGE_BYTES = 4096;
let memoryBudgetBytes = 0;            // set by start(); no script runs before
const resizableTokens = new WeakMapCtor();   // buffer -> token
let resizableRefs = newList();        // WeakRef(token)
let liveResizableBytes = 0, liveResizableReservation = 0;
let bytesSinceCollection = 0, countSinceCollection = 0;

const reservationOf = (maxByteLength) => MathMax(PAGE_BYTES, MathCeil(maxByteLength / PAGE_BYTES) * PAGE_BYTES);
function refuse(message) {
  const e = new RangeErrorCtor(ALLOCATION_FAILED + ': ' + message);
  recordRefusal(e);
  return e;
}
function resumResizable() {
  const kept = newList();
  let bytes = 0, reservation = 0;
  for (let i = 0; i < resizableRefs.length; i++) {
    const token = WeakRefDeref(resizableRefs[i]);
    if (token === undefined || token.reservation === 0) continue;   // collected, or detached
    bytes += token.bytes;
    reservation += token.reservation;
    ArrayPush(kept, resizableRefs[i]);
  }
  resizableRefs = kept;
  liveResizableBytes = bytes;
  liveResizableReservation = reservation;
}
// Throws a refusal unless `addBytes` more bytes, `addReservation` more reservation and `addCount`
// more buffers fit. Called before the engine allocates anything.
function admitResizable(addBytes, addReservation, addCount) {
  const fits = () => liveResizableBytes + addBytes <= memoryBudgetBytes
    && liveResizableReservation + addReservation <= MAX_RESIZABLE_RESERVATION
    && resizableRefs.length + addCount <= MAX_LIVE_RESIZABLE;
  if (fits()) return;
  // Tokens of collected buffers are cleared only by a full collection, which V8 may not have run
  // (dropped buffers cost it little heap). One is asked for when enough was made since the last:
  // amortised, a forced collection per eighth of a cap allocated. It must come before the re-sum:
  // WeakRef.deref() keeps what it returns alive until the job ends.
  // Only buffers made and each buffer's growth past its own high-water mark count towards the next
  // one: a full collection cannot be interrupted (measured ~1 s next to a 1 GB heap of small
  // objects), and an attack review forced one per loop turn by resizing one live buffer up and
  // down, which leaves no garbage (docs/threat-model.md).
  if (bytesSinceCollection >= memoryBudgetBytes / 8 || countSinceCollection >= MAX_LIVE_RESIZABLE / 8) {
    bytesSinceCollection = 0;
    countSinceCollection = 0;
    bridge.CollectGarbage();
  }
  resumResizable();
  if (fits()) return;
  if (liveResizableBytes + addBytes > memoryBudgetBytes) {
    throw refuse('resizable buffers would hold more than this execution\'s memory budget (' + memoryBudgetBytes + ' bytes)');
  }
  throw refuse('too many resizable buffers are alive (at most ' + MAX_LIVE_RESIZABLE + ' buffers, ' + MAX_RESIZABLE_RESERVATION + ' bytes of maxByteLength in all)');
}
function trackResizable(bytes, maxByteLength) {
  const token = { __proto__: null, bytes, peak: bytes, reservation: reservationOf(maxByteLength) };
  ArrayPush(resizableRefs, new WeakRefCtor(token));
  bytesSinceCollection += token.bytes;
  countSinceCollection++;
  liveResizableBytes += token.bytes;
  liveResizableReservation += token.reservation;
  return token;
}
// After a buffer's length changed (or it was detached: `detached` true), its token follows.
function retrackResizable(token, bytes, detached) {
  // A buffer's growth counts towards the next forced collection only past its own high-water
  // mark: a dropped buffer is garbage of its largest size, while one buffer resized up and down
  // again and again leaves none.
  if (bytes > token.peak) {
    bytesSinceCollection += bytes - token.peak;
    token.peak = bytes;
  }
  liveResizableBytes += bytes - token.bytes;
  token.bytes = bytes;
  if (detached) {
    liveResizableReservation -= token.reservation;
    token.reservation = 0;
  }
}
// ToIndex without running script code twice: the value is converted to a number exactly once
// here, and that number is what V8 sees (it converts a number without calling anything).
const toIndexNumber = (value) => (value === undefined ? 0 : +value);
const integerOf = (n) => (NumberIsNaN(n) ? 0 : MathTrunc(n));
const MAX_INDEX = 2 ** 53 - 1;

// The kinds of buffer that can be resizable: their own getters and growing method, taken now.
function bufferKind(ctor, byteLengthName, resizableName, growName) {
  const proto = ctor.prototype;
  return {
    __proto__: null,
    byteLength: uncurry(ObjectGetOwnPropertyDescriptor(proto, byteLengthName).get),
    resizable: uncurry(ObjectGetOwnPropertyDescriptor(proto, resizableName).get),
    maxByteLength: uncurry(ObjectGetOwnPropertyDescriptor(proto, 'maxByteLength').get),
    grow: proto[growName],
    prototype: proto,
  };
}
// The token of a resizable buffer; a resizable buffer we have not seen yet (none should exist:
// every way of making one goes through the wrappers) is counted from now on. Undefined for
// anything else, which the engine's own method then rejects or handles.
function tokenOf(kind, buffer) {
  let token;
  try {
    token = WeakMapGet(resizableTokens, buffer);
  } catch (notAnObject) {
    return undefined;
  }
  if (token !== undefined) return token;
  let resizable;
  try {
    resizable = kind.resizable(buffer);
  } catch (notThisKind) {
    return undefined;
  }
  if (!resizable) return undefined;
  const bytes = kind.byteLength(buffer), max = kind.maxByteLength(buffer);
  admitResizable(bytes, reservationOf(max), 1);
  token = trackResizable(bytes, max);
  WeakMapSet(resizableTokens, buffer, token);
  return token;
}

// `kind` is set for ArrayBuffer and SharedArrayBuffer: their options object may ask for a
// resizable (growable) buffer. The options object is read once (one Get of maxByteLength, one
// conversion) and never handed to V8, so a getter cannot answer the check and the engine differently.
function guardConstructor(name, kind) {
  const target = global[name];
  if (typeof target !== 'function') return;
  const guarded = new ProxyCtor(target, {
    construct(t, args, newTarget) {
      let forwarded = args;
      let maxByteLength;
      if (kind !== undefined) {
        // Spec order: ToIndex(length), then Get(options, "maxByteLength"), then ToIndex of it.
        const first = args.length > 0 ? args[0] : undefined;
        const options = args.length > 1 ? args[1] : undefined;
        if (options !== null && (typeof options === 'object' || typeof options === 'function')) {
          const length = toIndexNumber(first);
          const requested = options.maxByteLength;
          if (requested !== undefined) {
            maxByteLength = toIndexNumber(requested);
            forwarded = [length, { __proto__: null, maxByteLength }];
          } else {
            forwarded = [length];
          }
        } else {
          forwarded = args.length > 0 ? [first] : [];
        }
      }
      if (maxByteLength !== undefined) {
        return constructResizable(t, guarded, forwarded, newTarget, integerOf(forwarded[0]), integerOf(maxByteLength));
      }
      const first = forwarded.length > 0 ? forwarded[0] : undefined;
      // Only a plain `new X(length)`: a subclass or a newTarget from Reflect.construct makes V8
      // read `newTarget.prototype`, which a script can turn into a getter.
      const byLength = newTarget === guarded && forwarded.length <= 1
        && (first === null || (typeof first !== 'object' && typeof first !== 'function'));
      if (byLength) {
        forwarded = [first === undefined ? 0 : +first];   // ToNumber, as the constructor would
      }
      try {
        return ReflectConstruct(t, forwarded, newTarget === guarded ? t : newTarget);
      } catch (e) {
        if (byLength && e instanceof RangeErrorCtor) recordRefusal(e);
        throw e;
      }
    },
  });
  ReflectDefineProperty(target.prototype, 'constructor', { value: guarded, writable: true, configurable: true, enumerable: false });
  ReflectDefineProperty(global, name, { value: guarded, writable: true, configurable: true, enumerable: false });
}
function constructResizable(t, guarded, forwarded, newTarget, length, max) {
  // Lengths V8 rejects (negative, past 2^53 - 1, length above max) are left to its own RangeError.
  if (!(length >= 0 && max >= 0 && max <= MAX_INDEX && length <= max)) {
    return ReflectConstruct(t, forwarded, newTarget === guarded ? t : newTarget);
  }
  if (max > memoryBudgetBytes) {
    throw refuse('maxByteLength ' + max + ' is more than this execution\'s memory budget (' + memoryBudgetBytes + ' bytes)');
  }
  admitResizable(length, reservationOf(max), 1);
  // Counted before V8 allocates: a subclass's `prototype` getter runs script code inside the
  // construction below, and a buffer made there must already see this one in the counters.
  const token = trackResizable(length, max);
  try {
    const buffer = ReflectConstruct(t, forwarded, newTarget === guarded ? t : newTarget);
    WeakMapSet(resizableTokens, buffer, token);
    return buffer;
  } catch (e) {
    retrackResizable(token, 0, true);
    // Only V8 can have thrown when no script code ran (a plain `new`): a refused reservation.
    if (newTarget === guarded && e instanceof RangeErrorCtor) recordRefusal(e);
    throw e;
  }
}
// resize (ArrayBuffer, may also shrink) and grow (SharedArrayBuffer): the new length is converted
// once, here, and growth is admitted before V8 commits anything; the token then takes the length
// the buffer really has. A buffer that is not resizable goes to the engine's method untouched
// (which throws, as the spec says). `ArrayBuffer.prototype.resize.call(b, n)` is this wrapper too.
function guardGrowth(kind, methodName) {
  const original = kind.grow;
  const methods = {
    [methodName](newLength) {
      const token = tokenOf(kind, this);
      if (token === undefined) return ReflectApply(original, this, [newLength]);
      const length = toIndexNumber(newLength);
      const bytes = integerOf(length);
      const current = kind.byteLength(this);
      if (bytes > current && bytes <= MAX_INDEX) admitResizable(bytes - current, 0, 0);
      const result = ReflectApply(original, this, [length]);
      retrackResizable(token, kind.byteLength(this), false);
      return result;
    },
  };
  ReflectDefineProperty(kind.prototype, methodName, { value: methods[methodName], writable: true, configurable: true, enumerable: false });
}
// transfer() of a resizable buffer makes a new resizable one (same maxByteLength, any length up to
// it) and detaches the old; transferToFixedLength() makes a fixed one through the allocator (which
// MaxArrayBufferAllocation counts) and detaches the old. Either way the old token drops to nothing.
// The bytes admitted are the end state's (new minus old): the copy in between is transient.
function guardTransfer(kind, methodName) {
  const original = kind.prototype[methodName];
  if (typeof original !== 'function') return;
  const methods = {
    [methodName](...args) {
      const token = tokenOf(kind, this);
      if (token === undefined) return ReflectApply(original, this, args);
      const current = kind.byteLength(this);
      const length = args.length > 0 && args[0] !== undefined ? toIndexNumber(args[0]) : current;
      const keepsResizable = methodName === 'transfer';
      if (keepsResizable) {
        const bytes = integerOf(length);
        if (bytes <= MAX_INDEX) admitResizable(MathMax(0, bytes - current), reservationOf(kind.maxByteLength(this)), 1);
      }
      let result;
      try {
        result = ReflectApply(original, this, [length]);
      } catch (e) {
        // No script code ran in the engine's method: a RangeError from it is a refused allocation
        // or an invalid length, told apart by its message in fail().
        if (e instanceof RangeErrorCtor) recordRefusal(e);
        throw e;
      }
      retrackResizable(token, 0, true);
      if (keepsResizable && kind.resizable(result)) {
        WeakMapSet(resizableTokens, result, trackResizable(kind.byteLength(result), kind.maxByteLength(result)));
      }
      return result;
    },
  };
  ReflectDefineProperty(kind.prototype, methodName, { value: methods[methodName], writable: true, configurable: true, enumerable: false });
}


// The execution's memory budget in bytes, set by start() before any user code runs.
export function setMemoryBudget(bytes) {
  memoryBudgetBytes = bytes;
}

// The limit word when `e` is a refusal of memory recorded here (the engine's or ours) whose message
// is still the one it was refused with, else undefined. The refusal's identity decides (a script
// can throw a look-alike), and its message must be unchanged (a script can relabel a genuine
// error of another kind).
export function memoryRefusalLimit(e, message) {
  const refused = refusalMessage(e);
  return refused !== undefined && message === refused ? words.limitArrayBuffer : undefined;
}

// The message recorded when the refusal was made, or undefined.
function refusalMessage(e) {
  try {
    return RefusalGet(refusals, e);
  } catch (notAnObject) {
    return undefined;
  }
}

export function installMemoryGuards(theBridge, enableWebAssembly, enableSharedMemory) {
  bridge = theBridge;
  // ClearScript's helper object `EngineInternal` stays a global: ClearScript 7.5.1.1 defines it before
  // any code of ours runs, non-writable and non-configurable with a frozen value (checked by
  // GlobalSurfaceTests), so neither this code nor .NET can delete it; and ClearScript finds it by
  // name on the global each time it needs it, so removing it would break ClearScript rather than
  // protect anything. A script can read it but not replace or change it, and in Warden's
  // configuration ClearScript calls it for one thing only: awaiting the module wrapper's evaluation
  // (getModuleResult). docs/threat-model.md, "Residual risks".
  if (!enableWebAssembly) {
    // WebAssembly.Memory is reserved outside the heap and the ArrayBuffer allocator.
    ReflectDeleteProperty(global, 'WebAssembly');
  }
  if (!enableSharedMemory) {
    // Growable SharedArrayBuffers bypass MaxArrayBufferAllocation; Atomics.wait blocks the thread.
    ReflectDeleteProperty(global, 'SharedArrayBuffer');
    ReflectDeleteProperty(global, 'Atomics');
  }
  const arrayBufferKind = bufferKind(ArrayBuffer, 'byteLength', 'resizable', 'resize');
  guardConstructor('ArrayBuffer', arrayBufferKind);
  guardGrowth(arrayBufferKind, 'resize');
  guardTransfer(arrayBufferKind, 'transfer');
  guardTransfer(arrayBufferKind, 'transferToFixedLength');
  if (enableSharedMemory) {
    // Growable SharedArrayBuffers are reserved and committed the same way; they are never detached.
    const sharedKind = bufferKind(SharedArrayBuffer, 'byteLength', 'growable', 'grow');
    guardConstructor('SharedArrayBuffer', sharedKind);
    guardGrowth(sharedKind, 'grow');
  }
  for (let i = 0; i < typedArrayNames.length; i++) guardConstructor(typedArrayNames[i], undefined);

  // FinalizationRegistry: V8 runs cleanup callbacks as tasks of its own, whenever it likes — also
  // between two of our entries or while the isolate is torn down, when no watchdog is armed. The
  // callback V8 sees only queues the held value; tick() runs the script's callback like a timer.
  const guardedFinalizationRegistry = new ProxyCtor(FinalizationRegistryCtor, {
    construct(target, args, newTarget) {
      const callback = args[0];
      if (typeof callback !== 'function') {
        throw new TypeErrorCtor('FinalizationRegistry: cleanup must be callable');
      }
      const enqueue = (held) => { queueCleanup(callback, held); };
      return ReflectConstruct(target, [enqueue], newTarget === guardedFinalizationRegistry ? target : newTarget);
    },
  });
  ReflectDefineProperty(FinalizationRegistryCtor.prototype, 'constructor', { value: guardedFinalizationRegistry, writable: true, configurable: true, enumerable: false });
  ReflectDefineProperty(global, 'FinalizationRegistry', { value: guardedFinalizationRegistry, writable: true, configurable: true, enumerable: false });
}
