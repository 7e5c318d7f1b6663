// Warden prelude: evaluated in every fresh V8 context before any user code runs.
//
// SECURITY: this file is the wrapper around user code (docs/threat-model.md, "The prelude").
//  - It is a single strict function expression. Its only object from .NET is `bridge`, a host
//    object with seven methods that take and return only primitives (Now, Log, Complete, Fail,
//    RandomBytes, CollectGarbage) — but for LoadWebApis, which returns the web API bundle's factory, a function of
//    our own embedded source evaluated in this isolate; it stays in this closure and is never stored where
//    user code can reach it (no global, no property of anything user code can see). Strict mode
//    keeps `caller`/`arguments` and CallSite.getThis/getFunction from exposing our frames.
//  - Every built-in the prelude relies on is captured here, before user code can patch it.
//    Patching globals later can only break the user's own execution, never reach the bridge.
//  - User code is never glued into wrapper text: classic scripts run through indirect eval of
//    the untouched source, modules through an in-memory import. Every value the user produced
//    (result, thrown value) is inspected and serialised *here*, inside the isolate and under the
//    execution's limits; .NET only ever receives bounded primitive strings.
(function (bridge, enableWebAssembly, enableSharedMemory, userAgent) {
  'use strict';

  const global = globalThis;
  const ReflectApply = Reflect.apply;
  const ReflectConstruct = Reflect.construct;
  const ReflectDefineProperty = Reflect.defineProperty;
  const ReflectDeleteProperty = Reflect.deleteProperty;
  const ReflectOwnKeys = Reflect.ownKeys;
  const ReflectGetPrototypeOf = Reflect.getPrototypeOf;
  const ObjectKeys = Object.keys;
  const ObjectFreeze = Object.freeze;
  const ObjectPrototypeToString = Object.prototype.toString;
  const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const ObjectHasOwn = Object.hasOwn;
  const ArrayIsArray = Array.isArray;
  const JSONStringify = JSON.stringify;
  const JSONParse = JSON.parse;
  const StringCtor = String;
  const NumberCtor = Number;
  const MathMax = Math.max;
  const MathTrunc = Math.trunc;
  const MathFloor = Math.floor;
  const MathCeil = Math.ceil;
  const NumberIsNaN = Number.isNaN;
  const ObjectIs = Object.is;
  const IndirectEval = global.eval;
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const RangeErrorCtor = RangeError;
  const MapCtor = Map;
  const SetCtor = Set;
  const ArrayBufferIsView = ArrayBuffer.isView;
  const SymbolToStringTag = Symbol.toStringTag;

  const ReflectSetPrototypeOf = Reflect.setPrototypeOf;
  const NumberToFixed = Number.prototype.toFixed;
  const FinalizationRegistryCtor = FinalizationRegistry;
  const WeakSetCtor = WeakSet;

  // Every array the prelude fills has no prototype: an index write on an ordinary array consults
  // Array.prototype, where user code can plant setters that would receive the prelude's records.
  const newList = () => {
    const list = [];
    ReflectSetPrototypeOf(list, null);
    return list;
  };
  const uncurry = (fn) => (thisArg, ...args) => ReflectApply(fn, thisArg, args);
  const StringSlice = uncurry(String.prototype.slice);
  const StringSplit = uncurry(String.prototype.split);
  const StringIndexOf = uncurry(String.prototype.indexOf);
  const StringStartsWith = uncurry(String.prototype.startsWith);
  const StringEndsWith = uncurry(String.prototype.endsWith);
  const StringReplace = uncurry(String.prototype.replace);
  const RegExpExec = uncurry(RegExp.prototype.exec);
  const ArrayPush = uncurry(Array.prototype.push);
  const ArrayPop = uncurry(Array.prototype.pop);
  const ArrayJoin = uncurry(Array.prototype.join);
  const MapGet = uncurry(Map.prototype.get);
  const MapSet = uncurry(Map.prototype.set);
  const MapHas = uncurry(Map.prototype.has);
  const MapDelete = uncurry(Map.prototype.delete);
  const MapEntries = uncurry(Map.prototype.entries);
  const MapSize = uncurry(ObjectGetOwnPropertyDescriptor(Map.prototype, 'size').get);
  const SetValues = uncurry(Set.prototype.values);
  const SetSize = uncurry(ObjectGetOwnPropertyDescriptor(Set.prototype, 'size').get);
  const SetAdd = uncurry(Set.prototype.add);
  const SetHas = uncurry(Set.prototype.has);
  const SetDelete = uncurry(Set.prototype.delete);
  const WeakSetAdd = uncurry(WeakSet.prototype.add);
  const WeakSetHas = uncurry(WeakSet.prototype.has);
  const IteratorNext = (it) => it.next();
  const DateToISOString = uncurry(Date.prototype.toISOString);
  const DateGetTime = uncurry(Date.prototype.getTime);
  const DateNow = Date.now;
  const RegExpToString = uncurry(RegExp.prototype.toString);
  const RegExpSource = uncurry(ObjectGetOwnPropertyDescriptor(RegExp.prototype, 'source').get);
  const SymbolToString = uncurry(Symbol.prototype.toString);
  const TypedArrayLength = uncurry(ObjectGetOwnPropertyDescriptor(ReflectGetPrototypeOf(Uint8Array.prototype), 'length').get);
  const TypedArrayTag = uncurry(ObjectGetOwnPropertyDescriptor(ReflectGetPrototypeOf(Uint8Array.prototype), SymbolToStringTag).get);
  const ArrayBufferByteLength = uncurry(ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get);

  // ---------------------------------------------------------------------------------------------
  // 1. Remove what the limits cannot account for, and ClearScript's internal helpers.
  // ---------------------------------------------------------------------------------------------
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
  const refusals = new WeakMap();
  const RefusalGet = uncurry(WeakMap.prototype.get);
  const RefusalSet = uncurry(WeakMap.prototype.set);
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
  const WeakRefCtor = WeakRef;
  const WeakRefDeref = uncurry(WeakRef.prototype.deref);
  const WeakMapCtor = WeakMap;
  const WeakMapGet = uncurry(WeakMap.prototype.get);
  const WeakMapSet = uncurry(WeakMap.prototype.set);
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
    const guarded = new Proxy(target, {
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
  const typedArrayNames = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
    'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];
  for (let i = 0; i < typedArrayNames.length; i++) guardConstructor(typedArrayNames[i], undefined);

  // FinalizationRegistry: V8 runs cleanup callbacks as tasks of its own, whenever it likes — also
  // between two of our entries or while the isolate is torn down, when no watchdog is armed. The
  // callback V8 sees only queues the held value; tick() runs the script's callback like a timer.
  const cleanupQueue = newList();
  let cleanupHead = 0;
  const guardedFinalizationRegistry = new Proxy(FinalizationRegistryCtor, {
    construct(target, args, newTarget) {
      const callback = args[0];
      if (typeof callback !== 'function') {
        throw new TypeErrorCtor('FinalizationRegistry: cleanup must be callable');
      }
      const enqueue = (held) => { ArrayPush(cleanupQueue, { callback, held }); };
      return ReflectConstruct(target, [enqueue], newTarget === guardedFinalizationRegistry ? target : newTarget);
    },
  });
  ReflectDefineProperty(FinalizationRegistryCtor.prototype, 'constructor', { value: guardedFinalizationRegistry, writable: true, configurable: true, enumerable: false });
  ReflectDefineProperty(global, 'FinalizationRegistry', { value: guardedFinalizationRegistry, writable: true, configurable: true, enumerable: false });

  // ---------------------------------------------------------------------------------------------
  // 2. Rendering values to bounded text (console and error messages).
  // ---------------------------------------------------------------------------------------------
  const TRUNCATED = { truncated: true };
  // Strings a script makes can be ropes (V8 ConsStrings): `'x'.repeat(2 ** 28)` is a few hundred
  // bytes of tree standing for 256 MB of text. Anything that reads their characters — slice,
  // indexOf, replace, join, JSON.stringify, a Map lookup, handing them to .NET — first flattens the
  // WHOLE string into one new allocation, which can abort the engine (worker lost). So the prelude
  // checks `length` (always cheap) before any of those: text longer than its room is refused by
  // length (console: output_limit) or cut; a prefix is taken only of a string short enough that
  // flattening it costs little (SAFE_PREFIX_CHARS: at most ~2 MB), else a placeholder stands for it.
  const SAFE_PREFIX_CHARS = 1 << 20;
  const hugeStringText = (length) => '[a string of ' + length + ' characters]';
  // Thrown (by console rendering only) once `oversizeText` holds the text that did not fit: the
  // console then reports the entry's length to the bridge, which refuses it, without reading the
  // text. Recognised by identity (`instanceof` would run a thrown proxy's traps).
  const OVERSIZE = { oversize: true };
  let oversizeText = '';
  function oversize(text) {
    oversizeText = text;
    return OVERSIZE;
  }
  const SymbolDescription = uncurry(ObjectGetOwnPropertyDescriptor(Symbol.prototype, 'description').get);
  const StringValueOf = uncurry(String.prototype.valueOf);
  const symbolText = (sym) => {
    const description = SymbolDescription(sym);
    return description !== undefined && description.length > SAFE_PREFIX_CHARS
      ? 'Symbol(' + hugeStringText(description.length) + ')' : SymbolToString(sym);
  };
  // An Error's `stack` is formatted by V8 on first read, copying its name and message into one
  // flat string: it is read only when both are short. (A getter that answers short here and huge
  // to V8's formatter still makes V8 build that string: the engine's heap limit then ends it.)
  function errorStack(e) {
    const name = e.name, message = e.message;
    if ((typeof name === 'string' && name.length > SAFE_PREFIX_CHARS)
        || (typeof message === 'string' && message.length > SAFE_PREFIX_CHARS)) {
      return undefined;
    }
    const stack = e.stack;
    return typeof stack === 'string' ? stack : undefined;
  }

  function hasBrand(check, v) {
    try {
      check(v);
      return true;
    } catch (notBranded) {
      return false;
    }
  }

  // `forConsole`: text that does not fit throws OVERSIZE (the console entry is then refused by its
  // length); otherwise it is cut, a huge string standing as a placeholder.
  function renderValue(value, maxChars, forConsole) {
    const out = newList();
    let length = 0;
    const seen = new SetCtor();
    // Every piece goes through here, its length checked before its characters are read.
    function emit(text) {
      const room = maxChars - length + 1;   // one past: the caller sees that it was cut
      if (text.length > room) {
        if (forConsole) throw oversize(text);
        if (text.length > SAFE_PREFIX_CHARS) text = hugeStringText(text.length);
        if (text.length > room) text = StringSlice(text, 0, room);
      }
      length += text.length;
      ArrayPush(out, text);
      if (length > maxChars) {
        throw TRUNCATED;
      }
    }
    // A string quoted as JSON is at least two characters longer than itself, at most six times.
    function quoted(text) {
      if (text.length + 2 > maxChars - length + 1) {
        if (forConsole) throw oversize(text);
        return text.length > SAFE_PREFIX_CHARS ? hugeStringText(text.length)
          : JSONStringify(StringSlice(text, 0, maxChars - length + 1));
      }
      return JSONStringify(text);
    }
    function key(k) {
      if (typeof k === 'symbol') {
        return '[' + symbolText(k) + ']';
      }
      if (k.length > maxChars - length + 1) return quoted(k);
      return RegExpExec(/^[A-Za-z_$][A-Za-z0-9_$]*$/, k) !== null ? k : JSONStringify(k);
    }
    function visit(v, depth) {
      switch (typeof v) {
        case 'string': emit(depth === 0 ? v : quoted(v)); return;
        case 'number': emit(ObjectIs(v, -0) ? '-0' : StringCtor(v)); return;
        case 'bigint': emit(StringCtor(v) + 'n'); return;
        case 'boolean': emit(v ? 'true' : 'false'); return;
        case 'undefined': emit('undefined'); return;
        case 'symbol': emit(symbolText(v)); return;
        case 'function': {
          const name = v.name;
          emit(typeof name === 'string' && name !== '' ? '[Function: ' + name + ']' : '[Function (anonymous)]');
          return;
        }
        default: break;
      }
      if (v === null) {
        emit('null');
        return;
      }
      if (SetHas(seen, v)) {
        emit('[Circular]');
        return;
      }
      // Symbol.toStringTag can be forged, so every type is confirmed by a brand check (a built-in
      // that throws on anything else) before its internals are read.
      const tag = ReflectApply(ObjectPrototypeToString, v, []);
      if (v instanceof ErrorCtor) {
        const stack = errorStack(v);
        emit(stack !== undefined ? cleanStackText(stack, true) : StringCtor(v.name) + ': ' + StringCtor(v.message));
        return;
      }
      if (tag === '[object Date]' && hasBrand(DateGetTime, v)) {
        const time = DateGetTime(v);
        emit(NumberIsNaN(time) ? 'Invalid Date' : DateToISOString(v));
        return;
      }
      if (tag === '[object RegExp]' && hasBrand(RegExpSource, v)) {
        emit(RegExpToString(v));
        return;
      }
      if (depth >= 4) {
        emit(ArrayIsArray(v) ? '[Array]' : '[Object]');
        return;
      }
      SetAdd(seen, v);
      try {
        if (ArrayIsArray(v)) {
          emit('[');
          const n = v.length;
          for (let i = 0; i < n; i++) {
            if (i > 0) emit(', ');
            if (i >= 100) { emit('... ' + (n - 100) + ' more items'); break; }
            if (!(i in v)) { emit('empty'); continue; }
            visit(v[i], depth + 1);
          }
          emit(']');
        } else if (ArrayBufferIsView(v) && TypedArrayTag(v) !== undefined) {
          const n = TypedArrayLength(v);
          emit(TypedArrayTag(v) + '(' + n + ') [');
          for (let i = 0; i < n; i++) {
            if (i > 0) emit(', ');
            if (i >= 100) { emit('... ' + (n - 100) + ' more items'); break; }
            visit(v[i], depth + 1);
          }
          emit(']');
        } else if (tag === '[object ArrayBuffer]' && hasBrand(ArrayBufferByteLength, v)) {
          emit('ArrayBuffer { byteLength: ' + ArrayBufferByteLength(v) + ' }');
        } else if (tag === '[object Map]' && hasBrand(MapSize, v)) {
          emit('Map(' + MapSize(v) + ') {');
          const it = MapEntries(v);
          let i = 0;
          for (let step = IteratorNext(it); !step.done; step = IteratorNext(it), i++) {
            if (i > 0) emit(',');
            if (i >= 100) { emit(' ...'); break; }
            emit(' ');
            visit(step.value[0], depth + 1);
            emit(' => ');
            visit(step.value[1], depth + 1);
          }
          emit(' }');
        } else if (tag === '[object Set]' && hasBrand(SetSize, v)) {
          emit('Set(' + SetSize(v) + ') {');
          const it = SetValues(v);
          let i = 0;
          for (let step = IteratorNext(it); !step.done; step = IteratorNext(it), i++) {
            if (i > 0) emit(',');
            if (i >= 100) { emit(' ...'); break; }
            emit(' ');
            visit(step.value, depth + 1);
          }
          emit(' }');
        } else if (tag === '[object Promise]') {
          emit('Promise {}');
        } else {
          const keys = ObjectKeys(v);
          emit('{');
          for (let i = 0; i < keys.length; i++) {
            if (i > 0) emit(',');
            if (i >= 100) { emit(' ...'); break; }
            emit(' ' + key(keys[i]) + ': ');
            visit(v[keys[i]], depth + 1);
          }
          emit(keys.length > 0 ? ' }' : '}');
        }
      } finally {
        SetDelete(seen, v);
      }
    }
    try {
      visit(value, 0);
    } catch (e) {
      if (e === OVERSIZE) throw e;
      // A getter, trap or revoked proxy that throws must not make console.log throw: the value
      // is shown as far as it could be rendered.
      if (e !== TRUNCATED) ArrayPush(out, ' [uninspectable]');
    }
    const text = ArrayJoin(out, '');
    return text.length > maxChars ? StringSlice(text, 0, maxChars + 1) : text;
  }

  const STACK_SCAN_CHARS = 64 * 1024;
  const STACK_LINE_CHARS = 1000;

  // The documents of the submission: what a kept stack frame may name as its location. Set by start().
  let userDocuments = newList();

  // "at f (doc:L:C)", "at async f (doc:L:C)" or "at doc:L:C", where doc is one of userDocuments.
  // Compared as whole names, not parsed, since a module's name may itself hold spaces or parentheses.
  function isUserFrame(frame) {
    const position = RegExpExec(/:\d+:\d+(\)?)$/, frame);
    if (position === null) return false;
    const head = StringSlice(frame, 0, frame.length - position[0].length);
    for (let i = 0; i < userDocuments.length; i++) {
      const doc = userDocuments[i];
      if (position[1] === ')'
        ? StringEndsWith(head, ' (' + doc)
        : head === 'at ' + doc || head === 'at async ' + doc) {
        return true;
      }
    }
    return false;
  }

  // Stack text: keep only frames of user code, with their line and column, in V8's format.
  // Classic scripts run through indirect eval, so their frames read
  // "at f (eval at start (warden:prelude...), <anonymous>:L:C)"; they become "at f (script.js:L:C)".
  function cleanStackText(stack, keepHeader) {
    // Stack text can be set by the script: bound it before any regular expression sees it.
    if (stack.length > SAFE_PREFIX_CHARS) return hugeStringText(stack.length);   // too long to cut safely
    if (stack.length > STACK_SCAN_CHARS) stack = StringSlice(stack, 0, STACK_SCAN_CHARS);
    const lines = StringSplit(stack, '\n');
    const kept = newList();
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i];
      if (line.length > STACK_LINE_CHARS) line = StringSlice(line, 0, STACK_LINE_CHARS);
      const trimmed = StringReplace(line, /^\s+/, '');
      if (!StringStartsWith(trimmed, 'at ')) {
        if (keepHeader) ArrayPush(kept, line);
        continue;
      }
      const evalFrame = RegExpExec(/^at (.*?) ?\(eval at .*, <anonymous>:(\d+):(\d+)\)$/, trimmed);
      if (evalFrame !== null) {
        const name = evalFrame[1];
        const where = scriptName + ':' + evalFrame[2] + ':' + evalFrame[3];
        ArrayPush(kept, name === 'eval' || name === '' ? '    at ' + where : '    at ' + name + ' (' + where + ')');
        continue;
      }
      // SECURITY: a frame is kept only if its location is a document of the submission (or it is
      // a built-in called from one, whose location V8 always writes as "<anonymous>"). Stack text
      // repeats the message, so a message or a thrown string could otherwise plant frames that
      // name any path ("at /etc/passwd:1:1"), and Warden's own frames must not show either.
      const frame = StringReplace(trimmed, / \[(?:temp|\d+)\]/g, '');
      if (!isUserFrame(frame) && (frame === 'at eval (<anonymous>)'
          || RegExpExec(/^at (?:new )?[A-Za-z$_][\w$.]* \(<anonymous>\)$/, frame) === null)) {
        continue;
      }
      ArrayPush(kept, '    ' + frame);
    }
    // Built-in frames at the bottom were called by the prelude (e.g. JSON.stringify of the
    // result), not by user code.
    while (kept.length > 0 && RegExpExec(/\(<anonymous>\)$/, kept[kept.length - 1]) !== null) ArrayPop(kept);
    return ArrayJoin(kept, '\n');
  }

  // ---------------------------------------------------------------------------------------------
  // 3. console (Console Standard: every method, with levels).
  // ---------------------------------------------------------------------------------------------
  let consoleCharBudget = 0;
  let groupIndent = '';
  const counts = new MapCtor();
  const timers = new MapCtor();

  function formatArgs(args) {
    // Rendering stops a little past the remaining budget; the bridge then refuses the entry and
    // ends the execution with output_limit. No giant string is ever built, flattened or copied to
    // .NET: a piece that does not fit comes back as OVERSIZE, and the entry returned is then a rope
    // whose length alone (read by emitEntry) says it is too long.
    const budget = consoleCharBudget;
    const parts = newList();
    let used = 0;
    let start = 0;
    try {
      if (args.length > 0 && typeof args[0] === 'string') {
        if (args[0].length > budget) throw oversize(args[0]);
        if (StringIndexOf(args[0], '%') >= 0) {
          const fmt = args[0];
          let next = 1;
          const formatted = StringReplace(fmt, /%[sdifoOc%]/g, (spec) => {
            if (spec === '%%') return '%';
            if (next >= args.length) return spec;
            const arg = args[next++];
            let text;
            switch (spec) {
              case '%s': text = typeof arg === 'string' ? arg : renderValue(arg, MathMax(0, budget - used), true); break;
              case '%d': case '%i': text = typeof arg === 'bigint' ? StringCtor(arg) + 'n' : toNumberText(arg, true); break;
              case '%f': text = toNumberText(arg, false); break;
              case '%c': text = ''; break;
              default: text = renderValue(arg, MathMax(0, budget - used), true); break;
            }
            if (text.length > budget - used) throw oversize(text);
            used += text.length;
            return text;
          });
          ArrayPush(parts, formatted);
          used = formatted.length;
          start = next;
        }
      }
      for (let i = start; i < args.length && used <= budget; i++) {
        const text = renderValue(args[i], MathMax(0, budget - used), true);
        ArrayPush(parts, text);
        used += text.length + 1;
      }
    } catch (e) {
      if (e !== OVERSIZE) throw e;
      // A rope of the pieces so far and the one that did not fit: never read, only measured.
      const text = oversizeText;
      oversizeText = '';
      return text.length > budget ? text : ArrayJoin(parts, ' ') + ' ' + text;
    }
    return ArrayJoin(parts, ' ');
  }

  function toNumberText(value, integer) {
    try {
      const n = NumberCtor(value);
      return StringCtor(integer ? MathTrunc(n) : n);
    } catch (notConvertible) {
      return 'NaN';
    }
  }

  function elapsedText(since) {
    return ReflectApply(NumberToFixed, bridge.Now() - since, [3]) + ' ms';
  }

  function emitEntry(level, text) {
    // Length first: `text` may be a rope of a script's huge string (see formatArgs).
    if (text.length <= consoleCharBudget && groupIndent !== '') {
      // The indented length is known before the indented text is made (deep groups times many lines).
      let lines = 1;
      for (let at = StringIndexOf(text, '\n'); at >= 0; at = StringIndexOf(text, '\n', at + 1)) lines++;
      const indentedLength = text.length + lines * groupIndent.length;
      if (indentedLength > consoleCharBudget) {
        bridge.Log(level, '', indentedLength);
        return;
      }
      text = groupIndent + StringReplace(text, /\n/g, '\n' + groupIndent);
    }
    if (text.length > consoleCharBudget) {
      // Each UTF-16 unit is at least one UTF-8 byte, so this text cannot fit: report it as over
      // the limit without copying it out of the isolate.
      bridge.Log(level, '', text.length);
      return;
    }
    const accepted = bridge.Log(level, text, 0);
    consoleCharBudget -= text.length;
    if (!accepted) consoleCharBudget = -1;
  }

  function log(level) {
    return function (...args) { emitEntry(level, formatArgs(args)); };
  }

  const consoleObject = {
    log: log('log'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: log('debug'),
    trace(...args) {
      const holder = {};
      ErrorCtor.captureStackTrace(holder);
      const frames = typeof holder.stack === 'string' ? cleanStackText(holder.stack, false) : '';
      const message = formatArgs(args);
      emitEntry('trace', 'Trace' + (message !== '' ? ': ' + message : '') + (frames !== '' ? '\n' + frames : ''));
    },
    dir(item) {
      let text;
      try {
        text = renderValue(item, consoleCharBudget, true);
      } catch (e) {
        if (e !== OVERSIZE) throw e;
        text = oversizeText;   // longer than the budget: emitEntry refuses it by its length
        oversizeText = '';
      }
      emitEntry('log', text);
    },
    dirxml: log('log'),
    table: log('log'),
    assert(condition, ...args) {
      if (condition) return;
      if (args.length > 0 && typeof args[0] === 'string') {
        args[0] = 'Assertion failed: ' + args[0];
      } else {
        args = ['Assertion failed', ...args];
      }
      emitEntry('error', formatArgs(args));
    },
    clear() { groupIndent = ''; },
    count(label = 'default') {
      label = StringCtor(label);
      if (label.length > consoleCharBudget) { emitEntry('info', label); return; }
      const n = (MapGet(counts, label) || 0) + 1;
      MapSet(counts, label, n);
      emitEntry('info', label + ': ' + n);
    },
    countReset(label = 'default') {
      label = StringCtor(label);
      if (label.length > consoleCharBudget) { emitEntry('warn', label); return; }
      if (MapHas(counts, label)) MapSet(counts, label, 0);
      else emitEntry('warn', "Count for '" + label + "' does not exist");
    },
    group(...args) {
      if (args.length > 0) emitEntry('log', formatArgs(args));
      groupIndent += '  ';
    },
    groupCollapsed(...args) {
      if (args.length > 0) emitEntry('log', formatArgs(args));
      groupIndent += '  ';
    },
    groupEnd() { groupIndent = StringSlice(groupIndent, 2); },
    time(label = 'default') {
      // A label too long to print is too long to look up (a Map lookup flattens it).
      label = StringCtor(label);
      if (label.length > consoleCharBudget) { emitEntry('warn', label); return; }
      if (MapHas(timers, label)) { emitEntry('warn', "Timer '" + label + "' already exists"); return; }
      MapSet(timers, label, bridge.Now());
    },
    timeLog(label = 'default', ...args) {
      label = StringCtor(label);
      if (label.length > consoleCharBudget) { emitEntry('warn', label); return; }
      if (!MapHas(timers, label)) { emitEntry('warn', "Timer '" + label + "' does not exist"); return; }
      const extra = args.length > 0 ? ' ' + formatArgs(args) : '';
      emitEntry('info', label + ': ' + elapsedText(MapGet(timers, label)) + extra);
    },
    timeEnd(label = 'default') {
      label = StringCtor(label);
      if (label.length > consoleCharBudget) { emitEntry('warn', label); return; }
      if (!MapHas(timers, label)) { emitEntry('warn', "Timer '" + label + "' does not exist"); return; }
      emitEntry('info', label + ': ' + elapsedText(MapGet(timers, label)));
      MapDelete(timers, label);
    },
  };
  ReflectDefineProperty(consoleObject, SymbolToStringTag, { value: 'console', configurable: true });
  ReflectDefineProperty(global, 'console', { value: consoleObject, writable: true, configurable: true, enumerable: false });

  // ---------------------------------------------------------------------------------------------
  // 4. Timers and microtasks. The queue lives in this isolate, so a timer flood is paid for in
  //    heap and CPU like any other allocation; .NET only asks "what is due next?".
  // ---------------------------------------------------------------------------------------------
  const queue = newList();      // binary min-heap of timer records ordered by (due, seq)
  const activeTimers = new MapCtor();
  let nextTimerId = 1;
  let nextSeq = 0;
  let currentNesting = 0;
  let uncaught = null;          // first error thrown by a timer or microtask callback

  function before(a, b) { return a.due < b.due || (a.due === b.due && a.seq < b.seq); }
  function heapPush(t) {
    let i = queue.length;
    queue[i] = t;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(queue[i], queue[parent])) break;
      const tmp = queue[i]; queue[i] = queue[parent]; queue[parent] = tmp;
      i = parent;
    }
  }
  function heapPop() {
    const top = queue[0];
    const last = ArrayPop(queue);
    if (queue.length > 0) {
      queue[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < queue.length && before(queue[l], queue[m])) m = l;
        if (r < queue.length && before(queue[r], queue[m])) m = r;
        if (m === i) break;
        const tmp = queue[i]; queue[i] = queue[m]; queue[m] = tmp;
        i = m;
      }
    }
    return top;
  }

  function normaliseDelay(delay, nesting) {
    // WebIDL `long`, as in browsers: whole milliseconds (no sub-millisecond timer to time with),
    // wrapping past 2^31 - 1; negative becomes 0.
    let ms = NumberCtor(delay) | 0;
    if (ms < 0) ms = 0;
    // HTML: timers nested more than 5 deep are clamped to at least 4 ms.
    if (nesting > 5 && ms < 4) ms = 4;
    return ms;
  }

  function addTimer(handler, delay, args, repeat) {
    if (typeof handler !== 'function') {
      const source = StringCtor(handler);
      handler = () => IndirectEval(source);
    }
    const id = nextTimerId++;
    const nesting = currentNesting + 1;
    const ms = normaliseDelay(delay, nesting);
    const t = { id, due: MathFloor(bridge.Now()) + ms, seq: nextSeq++, handler, args, repeat, ms, nesting, cancelled: false };
    MapSet(activeTimers, id, t);
    heapPush(t);
    return id;
  }
  function clearTimer(id) {
    const key = NumberCtor(id);
    const t = MapGet(activeTimers, key);
    if (t !== undefined) {
      t.cancelled = true;
      MapDelete(activeTimers, key);
    }
  }
  function reportUncaught(e) {
    if (uncaught === null) uncaught = { error: e };
  }

  const timerFunctions = {
    setTimeout(handler, delay = 0, ...args) { return addTimer(handler, delay, args, false); },
    setInterval(handler, delay = 0, ...args) { return addTimer(handler, delay, args, true); },
    clearTimeout(id) { clearTimer(id); },
    clearInterval(id) { clearTimer(id); },
    queueMicrotask(callback) {
      if (typeof callback !== 'function') {
        throw new TypeErrorCtor("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
      }
      // `await undefined` queues the job without any lookup a script could intercept.
      (async () => {
        await undefined;
        try { callback(); } catch (e) { reportUncaught(e); }
      })();
    },
  };
  const timerNames = ReflectOwnKeys(timerFunctions);
  for (let i = 0; i < timerNames.length; i++) {
    ReflectDefineProperty(global, timerNames[i], { value: timerFunctions[timerNames[i]], writable: true, configurable: true, enumerable: true });
  }

  // ---------------------------------------------------------------------------------------------
  // 4b. Web APIs (WebApis/, docs/web-apis.md). Each global is an accessor until first read, then a
  //     plain data property. The first read of any of them has .NET evaluate the bundle in this
  //     isolate (bridge.LoadWebApis: inside the execution, under its limits) and calls the bundle's
  //     factory with a null-prototype record of host capabilities, none of which is the bridge
  //     itself: timers from the queue above, the execution clock, and random bytes (a count out, a
  //     bounded string back). Executions that touch no web global never load the bundle.
  // ---------------------------------------------------------------------------------------------
  // Assume a script gets hold of this record (a review did, through sloppy-mode library frames, since
  // closed): every entry must still be harmless. Only a number ever reaches the bridge, and the clock
  // is as coarse as performance.now()'s, so it is no sharper timer than the script already has.
  const coarseNow = () => MathFloor(bridge.Now() * 10) / 10;
  const webHost = ObjectFreeze({ __proto__: null,
    setTimeout: (handler, ms) => addTimer(handler, ms, newList(), false),
    clearTimeout: clearTimer,
    randomBytes: (count) => (typeof count === 'number' ? bridge.RandomBytes(count) : ''),
    now: coarseNow,
    timeOrigin: () => DateNow() - coarseNow(),
    userAgent,
    reportError: reportUncaught,
  });
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
  for (let i = 0; i < webNames.length; i++) {
    const name = webNames[i];
    defineLazyGlobal(name, () => loadWebApi(name));
  }
  // As in a dedicated worker: `self` is the global object.
  ReflectDefineProperty(global, 'self', { value: global, writable: true, configurable: true, enumerable: true });

  // ---------------------------------------------------------------------------------------------
  // 5. Results and errors, made here and handed to .NET as bounded strings.
  // ---------------------------------------------------------------------------------------------
  let scriptName = 'script.js';
  let limits = null;
  let settled = false;
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
        stack = s !== undefined ? cleanStackText(s, false) : '';
      } else {
        message = 'Uncaught ' + renderValue(e, limits.maxErrorTextBytes, false);
      }
    } catch (inner) {
      message = 'The thrown value could not be inspected';
    }
    return { name: bound(name), message: bound(message), stack: bound(stack) };
  }

  // The message recorded when the refusal was made, or undefined.
  function refusalMessage(e) {
    try {
      return RefusalGet(refusals, e);
    } catch (notAnObject) {
      return undefined;
    }
  }

  // `settled` is set only once the bridge has taken the outcome: if reporting itself fails (a
  // script can call into here with its stack nearly exhausted), a later attempt can still report.
  function fail(e, phase) {
    if (settled) return;
    const d = describe(e);
    let limit = '';
    let status = 'script_error';
    // The refusal's identity decides (a script can throw a look-alike), and its message must still be
    // the one it was refused with (a script can relabel a genuine error of another kind).
    const refused = refusalMessage(e);
    if (refused !== undefined && d.message === refused) {
      status = 'memory_limit';
      limit = 'arrayBuffer';
    }
    bridge.Fail(status, limit, d.name, d.message, d.stack, phase);
    settled = true;
  }

  let serialising = false;
  function succeed(value) {
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
        bridge.Fail('output_limit', 'result', 'OutputLimitError', 'The result is larger than ' + limits.maxResultBytes + ' bytes', '', 'result');
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

  function settleWith(value) {
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

  function start(inputJson, code, isModule, entrySpecifier, documentNames, maxConsoleBytes, maxResultBytes, maxErrorTextBytes, memoryBytes) {
    limits = { maxConsoleBytes, maxResultBytes, maxErrorTextBytes };
    memoryBudgetBytes = memoryBytes;
    consoleCharBudget = limits.maxConsoleBytes;
    ReflectDefineProperty(global, 'input', {
      value: inputJson === null ? null : JSONParse(inputJson),
      writable: true, configurable: true, enumerable: true,
    });
    scriptName = entrySpecifier;
    // One name a line (module names cannot hold control characters: the host refuses them).
    const names = StringSplit(documentNames, '\n');
    for (let i = 0; i < names.length; i++) ArrayPush(userDocuments, names[i]);
    if (!isModule) {
      let completion;
      try {
        completion = IndirectEval(code);
      } catch (e) {
        // A SyntaxError here may be the parser's: .NET then compiles the source (which runs no
        // code) to recover its line and column.
        fail(e, 'evaluate');
        return;
      }
      settleWith(completion);
      return;
    }
    startModule(entrySpecifier);
  }

  // Modules. Every failure of a module graph must reach fail() here as a value, never ClearScript
  // (which would copy a thrown value's text into .NET outside every limit: a 32 MB thrown string
  // took the execution past its timeout). Two steps, because of how ClearScript runs modules:
  //  1. The graph is started with a dynamic import() of the entry. ClearScript loads (in-memory
  //     loader only), compiles, links and evaluates the graph synchronously inside this call, and a
  //     failure to load, parse or link rejects the import: caught below. But ClearScript resolves the
  //     import with the namespace even when evaluation threw or is still in a top-level await (it
  //     drops the evaluation's promise; measured), so the import says nothing about evaluation.
  //  2. .NET then evaluates Warden's fixed wrapper module: it imports the entry (linked and evaluated
  //     by now, so linking cannot fail) and holds a top-level await, which makes ClearScript hand the
  //     evaluation back as a promise rather than throw a rejection into .NET. awaitModule() awaits
  //     it: a top-level throw or a rejected top-level await arrives here as the value thrown.
  let entryNamespace = null;
  let moduleNamespace = null;
  function startModule(specifier) {
    (async () => {
      let ns;
      try {
        ns = await import(specifier);
      } catch (e) {
        // "module": a SyntaxError from this phase is located by .NET compiling the sources.
        fail(e, 'module');
        return;
      }
      entryNamespace = ns;
    })();
  }

  // `evaluation` is the promise of the wrapper module's evaluation (step 2 above). Once it settles the
  // namespace is fully evaluated; the default export is then run from tick(), on the shallow stack
  // of a call from .NET.
  function awaitModule(evaluation) {
    (async () => {
      try {
        await evaluation;
      } catch (e) {
        fail(e, 'run');
        return;
      }
      if (settled) return;
      if (entryNamespace === null) {
        fail(new ErrorCtor('The module finished evaluating before its import settled'), 'run');
        return;
      }
      moduleNamespace = entryNamespace;
      entryNamespace = null;
    })();
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

  function tick() {
    if (uncaught !== null && !settled) {
      fail(uncaught.error, 'run');
    }
    if (settled) return -2;
    if (moduleNamespace !== null) {
      runModuleDefault();
      return 0;
    }
    if (cleanupHead < cleanupQueue.length) {
      const cleanup = cleanupQueue[cleanupHead++];
      if (cleanupHead === cleanupQueue.length) {
        cleanupQueue.length = 0;
        cleanupHead = 0;
      }
      try {
        ReflectApply(cleanup.callback, undefined, [cleanup.held]);
      } catch (e) {
        reportUncaught(e);
      }
      return 0;
    }
    while (queue.length > 0 && queue[0].cancelled) heapPop();
    if (queue.length === 0) return -1;
    const now = bridge.Now();
    const t = queue[0];
    if (t.due > now) return t.due;
    heapPop();
    if (t.repeat) {
      // Each repeat nests one level deeper, so intervals are clamped to 4 ms as in browsers.
      t.nesting++;
      t.due = MathFloor(now) + normaliseDelay(t.ms, t.nesting);
      t.seq = nextSeq++;
      heapPush(t);
    } else {
      MapDelete(activeTimers, t.id);
    }
    currentNesting = t.nesting;
    try {
      ReflectApply(t.handler, global, t.args);
    } catch (e) {
      reportUncaught(e);
    } finally {
      currentNesting = 0;
    }
    return 0;
  }

  // Entry points for .NET. No exception may leave them: one that did would hand a value the script
  // made to ClearScript, which inspects thrown values outside every limit (design.md).
  function entryPoint(fn, valueOnError) {
    return function (...args) {
      try {
        return ReflectApply(fn, undefined, args);
      } catch (e) {
        fail(e, 'run');
        return valueOnError;
      }
    };
  }

  return [entryPoint(start, undefined), entryPoint(tick, -2), entryPoint(awaitModule, undefined)];
})
