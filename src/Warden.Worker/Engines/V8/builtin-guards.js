// Warden built-in guards: evaluated in every fresh V8 context right after the prelude, before any
// user code runs.
//
// WHY: V8 checks for interrupts (the watchdog's Interrupt()) only at JS function entries and loop
// back-edges. A built-in that loops inside the engine (Torque/CSA/C++) never checks, so
// `Array.prototype.includes.call({ length: 2**32 }, 1)` runs for minutes and the only way to stop
// it is the worker ending itself (a worker start, ~1 s of CPU, per one-line submission). Every
// built-in below is replaced by a wrapper that calls the original when the work is small (no cost
// for ordinary scripts) and otherwise does the same work in an interruptible way:
//  - generic array methods: a JS loop that follows the specification step by step (same
//    property reads, writes, deletes and calls, in the same order), so it is stopped at its limit;
//  - Array.from: the original, driven with an identity map function (one JS call per element);
//  - sort/toSorted: the original sort driven by a JS comparator equal to the default SortCompare;
//  - RegExp.prototype[Symbol.replace] and String.prototype.replaceAll with a replacement string:
//    the original driven by a function replacer that implements GetSubstitution;
//  - String.prototype.normalize: the original on chunks split before ASCII characters (an ASCII
//    character is a starter that never composes with what precedes it, so normalising the
//    chunks separately gives the same text).
// What "small" means: a receiver whose length is an own data property (readable without running
// any script code) of at most SMALL_LENGTH; anything else (proxies, getters, inherited lengths,
// typed arrays as receivers) takes the JS path, which reads `length` exactly once, as the
// specification does. Measured sizes and what remains unguarded: docs/limits.md.
//
// SECURITY: evaluated as one strict classic script (build-prelude.mjs); it holds only built-ins
// captured before user code runs (its own copy of Prelude/primordials.js, evaluated when this
// script is, plus the originals it wraps, taken below), stores nothing where user code can reach
// it, and hands user code nothing but the wrappers. Function.prototype.toString reports each wrapper
// as the original's native code.
import {
  global, ReflectApply, ReflectConstruct, ReflectDefineProperty, ReflectGetOwnPropertyDescriptor, ReflectGetPrototypeOf,
  ObjectCtor, ArrayCtor, ArrayIsArray, ProxyCtor, TypeErrorCtor, RangeErrorCtor, WeakSetCtor, WeakMapCtor, MathMax,
  MathMin, MathTrunc, SymbolSpecies, SymbolReplace, newList, uncurry, WeakSetAdd, WeakSetHas, WeakSetDelete,
  WeakMapGet, WeakMapSet, StringSlice, StringIndexOf, StringCharCodeAt, StringSearch, StringCodePointAt,
  TypedArrayLength, TypedArrayTag, TypedArraySet, typedArrayNames,
} from '../../Prelude/primordials.js';

const ProxyRevocable = ProxyCtor.revocable;
const ArrayPrototype = Array.prototype;
const ArraySortOriginal = ArrayPrototype.sort;
const ArraySort = uncurry(ArraySortOriginal);

/** Work (elements visited) that a built-in may do without checking for interrupts: ~10–50 ms. */
const SMALL_LENGTH = 1 << 20;
/** Strings up to this length are replaced by the original in one call. */
const SMALL_STRING = 1 << 18;
/** Normalisation costs up to ~100 ns per code unit (measured): chunks of this size take ~3 ms. */
const NORMALIZE_CHUNK = 1 << 15;
/** Arrays up to this length are sorted by the original with its native default comparison. */
const SMALL_SORT = 1 << 14;
const MAX_SAFE_LENGTH = 2 ** 53 - 1;
const MAX_ARRAY_LENGTH = 2 ** 32 - 1;

// Builds a long string from many pieces: each 4096 pieces are joined by the original join into
// one flat string (a chain of millions of `+=` would hold a node per piece).
const ArrayJoinOriginal = ArrayPrototype.join;
const BUILDER_PIECES = 4096;
const newBuilder = () => ({ __proto__: null, parts: newList(), count: 0, done: newList(), doneCount: 0 });
function append(builder, text) {
  builder.parts[builder.count++] = text;
  if (builder.count === BUILDER_PIECES) {
    builder.done[builder.doneCount++] = ReflectApply(ArrayJoinOriginal, builder.parts, ['']);
    builder.parts = newList();
    builder.count = 0;
  }
}
function build(builder) {
  if (builder.count > 0) builder.done[builder.doneCount++] = ReflectApply(ArrayJoinOriginal, builder.parts, ['']);
  return ReflectApply(ArrayJoinOriginal, builder.done, ['']);
}

// --- Proxies are recorded at creation: the only way to tell one from its target without
// running its traps. Reading `length` of a proxy would run a trap the original then runs again.
const proxies = new WeakSetCtor();
const originals = new WeakMapCtor();   // wrapper -> original, for Function.prototype.toString
const guardedProxy = new ProxyCtor(ProxyCtor, {
  construct(target, args, newTarget) {
    const proxy = ReflectConstruct(target, args, newTarget === guardedProxy ? target : newTarget);
    WeakSetAdd(proxies, proxy);
    return proxy;
  },
});
WeakMapSet(originals, guardedProxy, ProxyCtor);
const revocableMethods = {
  revocable(target, handler) {
    const result = ReflectApply(ProxyRevocable, ProxyCtor, [target, handler]);
    WeakSetAdd(proxies, result.proxy);   // result is a fresh ordinary object of V8's own
    return result;
  },
};
install(ProxyCtor, 'revocable', revocableMethods.revocable, ProxyRevocable);
ReflectDefineProperty(global, 'Proxy', { __proto__: null, value: guardedProxy, writable: true, enumerable: false, configurable: true });

// Function.prototype.toString: a wrapper prints as the built-in it stands for.
const FunctionToString = Function.prototype.toString;
const toStringMethods = {
  toString() {
    const original = (typeof this === 'function' || (typeof this === 'object' && this !== null)) ? WeakMapGet(originals, this) : undefined;
    return ReflectApply(FunctionToString, original === undefined ? this : original, []);
  },
};
install(Function.prototype, 'toString', toStringMethods.toString, FunctionToString);

function install(holder, key, wrapper, original) {
  WeakMapSet(originals, wrapper, original);
  const own = ReflectGetOwnPropertyDescriptor(holder, key);
  ReflectDefineProperty(holder, key, { __proto__: null, value: wrapper, writable: own.writable, enumerable: own.enumerable, configurable: own.configurable });
}

// --- Abstract operations (ECMA-262), written so that they run no script code beyond what the
// specification's own steps run.
function toIntegerOrInfinity(value) {
  const number = +value;   // ToNumber: throws for Symbol and BigInt as the built-ins do
  if (number !== number || number === 0) return 0;
  return MathTrunc(number);
}
function toLength(value) {
  const length = toIntegerOrInfinity(value);
  return length <= 0 ? 0 : MathMin(length, MAX_SAFE_LENGTH);
}
const lengthOfArrayLike = (object) => toLength(object.length);
// Resolves a relative index (start/end/target arguments) against len.
function relativeIndex(value, len) {
  const relative = toIntegerOrInfinity(value);
  return relative < 0 ? MathMax(len + relative, 0) : MathMin(relative, len);
}
// An argument that may not have been passed. Reading `arguments[i]` past its length would
// consult Object.prototype, where a script can plant a getter that receives this wrapper's
// arguments object (and sees an extra, unspecified property read).
const argument = (args, index) => (index < args.length ? args[index] : undefined);
const sameValueZero = (x, y) => x === y || (x !== x && y !== y);
function createDataPropertyOrThrow(object, key, value) {
  if (!ReflectDefineProperty(object, key, { __proto__: null, value, writable: true, enumerable: true, configurable: true })) {
    throw new TypeErrorCtor(`Cannot add property ${key}, object is not extensible`);
  }
}
function isConstructor(value) {
  if (typeof value !== 'function') return false;
  // A proxy has [[Construct]] exactly when its target has; this one's trap touches nothing.
  try {
    ReflectConstruct(new ProxyCtor(value, { __proto__: null, construct: () => ({}) }), []);
    return true;
  } catch (notConstructor) {
    return false;
  }
}
function arrayCreate(length) {
  if (length > MAX_ARRAY_LENGTH) throw new RangeErrorCtor('Invalid array length');
  return new ArrayCtor(length);
}
function arraySpeciesCreate(original, length) {
  if (!ArrayIsArray(original)) return arrayCreate(length);
  let constructor = original.constructor;
  if (constructor !== null && (typeof constructor === 'object' || typeof constructor === 'function')) {
    constructor = constructor[SymbolSpecies];
    if (constructor === null) constructor = undefined;
  }
  if (constructor === undefined) return arrayCreate(length);
  if (!isConstructor(constructor)) throw new TypeErrorCtor('object.constructor[Symbol.species] is not a constructor');
  return ReflectConstruct(constructor, [length]);
}
function requireCallable(fn) {
  if (typeof fn !== 'function') throw new TypeErrorCtor(`${typeof fn === 'object' && fn !== null ? '#<Object>' : String(fn)} is not a function`);
}

// True when the receiver's length can be read without running script code and is small: the
// original then does a bounded amount of work. Walks the prototype chain with
// getOwnPropertyDescriptor, which runs no script code on anything but a proxy.
function isSmall(receiver) {
  if (receiver === null || receiver === undefined) return true;   // the original throws its own TypeError
  if (typeof receiver === 'string') return receiver.length <= SMALL_LENGTH;
  try {
    let object = ObjectCtor(receiver);
    for (let depth = 0; object !== null && depth < 64; depth++) {
      if (WeakSetHas(proxies, object)) return false;
      const own = ReflectGetOwnPropertyDescriptor(object, 'length');
      if (own !== undefined) {
        return 'value' in own && typeof own.value === 'number' && toLength(own.value) <= SMALL_LENGTH;
      }
      object = ReflectGetPrototypeOf(object);
    }
    return object === null;
  } catch (unreadable) {
    return false;   // the JS path reads `length` itself and throws what the original would
  }
}

// --- Array.prototype: each wrapper keeps the original's name and length (method definitions
// with the same formal parameters: no `prototype`, not constructors, like the built-ins).
const A = ArrayPrototype;
const originalOf = (name) => A[name];
const guarded = { __proto__: null };

const arrayMethods = {
  includes(searchElement) {
    if (isSmall(this) || (ArrayIsArray(this) && !WeakSetHas(proxies, this))) {
      // V8 answers includes() on a real (even sparse) array without visiting every hole.
      return ReflectApply(guarded.includes, this, arguments);
    }
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    if (len === 0) return false;
    const n = toIntegerOrInfinity(argument(arguments, 1));
    if (n === Infinity) return false;
    for (let k = n >= 0 ? n : MathMax(len + n, 0); k < len; k++) {
      if (sameValueZero(searchElement, O[k])) return true;
    }
    return false;
  },
  indexOf(searchElement) {
    if (isSmall(this)) return ReflectApply(guarded.indexOf, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    if (len === 0) return -1;
    const n = toIntegerOrInfinity(argument(arguments, 1));
    if (n === Infinity) return -1;
    for (let k = n >= 0 ? n : MathMax(len + n, 0); k < len; k++) {
      if (k in O && O[k] === searchElement) return k;
    }
    return -1;
  },
  lastIndexOf(searchElement) {
    if (isSmall(this)) return ReflectApply(guarded.lastIndexOf, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    if (len === 0) return -1;
    const n = arguments.length > 1 ? toIntegerOrInfinity(arguments[1]) : len - 1;
    if (n === -Infinity) return -1;
    for (let k = n >= 0 ? MathMin(n, len - 1) : len + n; k >= 0; k--) {
      if (k in O && O[k] === searchElement) return k;
    }
    return -1;
  },
  reverse() {
    if (isSmall(this)) return ReflectApply(guarded.reverse, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    const middle = MathTrunc(len / 2);
    for (let lower = 0; lower !== middle; lower++) {
      const upper = len - lower - 1;
      const lowerExists = lower in O;
      const lowerValue = lowerExists ? O[lower] : undefined;
      const upperExists = upper in O;
      const upperValue = upperExists ? O[upper] : undefined;
      if (lowerExists && upperExists) {
        O[lower] = upperValue;
        O[upper] = lowerValue;
      } else if (upperExists) {
        O[lower] = upperValue;
        delete O[upper];
      } else if (lowerExists) {
        delete O[lower];
        O[upper] = lowerValue;
      }
    }
    return O;
  },
  fill(value) {
    if (isSmall(this)) return ReflectApply(guarded.fill, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    let k = relativeIndex(argument(arguments, 1), len);
    const end = argument(arguments, 2);
    const final = end === undefined ? len : relativeIndex(end, len);
    if (ArrayIsArray(O) && !WeakSetHas(proxies, O)) {
      // A real array (`Array(1e7).fill(0)` is common): the original on bounded ranges, with the
      // positions already converted. A setter planted on the prototype chain may change the
      // length in between; the rest is then done by the JS loop, which keeps the original len.
      while (k < final && O.length === len) {
        const chunkEnd = MathMin(k + SMALL_LENGTH, final);
        ReflectApply(guarded.fill, O, [value, k, chunkEnd]);
        k = chunkEnd;
      }
    }
    for (; k < final; k++) O[k] = value;
    return O;
  },
  copyWithin(target, start) {
    if (isSmall(this)) return ReflectApply(guarded.copyWithin, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    let to = relativeIndex(target, len);
    let from = relativeIndex(start, len);
    const end = argument(arguments, 2);
    const final = end === undefined ? len : relativeIndex(end, len);
    let count = MathMin(final - from, len - to);
    let direction = 1;
    if (from < to && to < from + count) {
      direction = -1;
      from = from + count - 1;
      to = to + count - 1;
    }
    for (; count > 0; count--) {
      if (from in O) {
        O[to] = O[from];
      } else {
        delete O[to];
      }
      from += direction;
      to += direction;
    }
    return O;
  },
  join(separator) {
    if (isSmall(this)) return ReflectApply(guarded.join, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    // V8 refuses these lengths before reading any element (observed: RangeError at once).
    if (len > MAX_ARRAY_LENGTH) throw new RangeErrorCtor('Invalid array length');
    const sep = separator === undefined ? ',' : `${separator}`;
    return joinCycleSafe(O, len, (element) => (element === undefined || element === null ? '' : `${element}`), sep);
  },
  toLocaleString() {
    if (isSmall(this)) return ReflectApply(guarded.toLocaleString, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    if (len > MAX_ARRAY_LENGTH) throw new RangeErrorCtor('Invalid array length');
    const locales = argument(arguments, 0);
    const options = argument(arguments, 1);
    return joinCycleSafe(O, len, (element) => (element === undefined || element === null ? '' : `${element.toLocaleString(locales, options)}`), ',');
  },
  sort(comparefn) {
    if (comparefn !== undefined && typeof comparefn !== 'function') return ReflectApply(guarded.sort, this, arguments);
    if (isSmall(this) && (comparefn !== undefined || smallSort(this))) return ReflectApply(guarded.sort, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    const items = newList();
    let count = 0;
    for (let k = 0; k < len; k++) {
      if (k in O) items[count++] = O[k];
    }
    sortList(items, comparefn);
    let j = 0;
    for (; j < count; j++) O[j] = items[j];
    for (; j < len; j++) delete O[j];   // keeps the number of holes (SortIndexedProperties skip-holes)
    return O;
  },
  toSorted(comparefn) {
    if (comparefn !== undefined && typeof comparefn !== 'function') return ReflectApply(guarded.toSorted, this, arguments);
    if (isSmall(this) && (comparefn !== undefined || smallSort(this))) return ReflectApply(guarded.toSorted, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    const result = arrayCreate(len);
    const items = newList();
    for (let k = 0; k < len; k++) items[k] = O[k];
    sortList(items, comparefn);
    for (let j = 0; j < len; j++) createDataPropertyOrThrow(result, j, items[j]);
    return result;
  },
  toReversed() {
    if (isSmall(this)) return ReflectApply(guarded.toReversed, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    const result = arrayCreate(len);
    for (let k = 0; k < len; k++) createDataPropertyOrThrow(result, k, O[len - k - 1]);
    return result;
  },
  with(index, value) {
    if (isSmall(this)) return ReflectApply(guarded.with, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    const relative = toIntegerOrInfinity(index);
    const actual = relative >= 0 ? relative : len + relative;
    if (actual >= len || actual < 0) throw new RangeErrorCtor('Invalid index : ' + relative);
    const result = arrayCreate(len);
    for (let k = 0; k < len; k++) createDataPropertyOrThrow(result, k, k === actual ? value : O[k]);
    return result;
  },
  forEach(callbackfn) {
    if (isSmall(this)) return ReflectApply(guarded.forEach, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    requireCallable(callbackfn);
    const thisArg = argument(arguments, 1);
    for (let k = 0; k < len; k++) {
      if (k in O) ReflectApply(callbackfn, thisArg, [O[k], k, O]);
    }
    return undefined;
  },
  map(callbackfn) {
    if (isSmall(this)) return ReflectApply(guarded.map, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    requireCallable(callbackfn);
    const thisArg = argument(arguments, 1);
    const result = arraySpeciesCreate(O, len);
    for (let k = 0; k < len; k++) {
      if (k in O) createDataPropertyOrThrow(result, k, ReflectApply(callbackfn, thisArg, [O[k], k, O]));
    }
    return result;
  },
  filter(callbackfn) {
    if (isSmall(this)) return ReflectApply(guarded.filter, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    requireCallable(callbackfn);
    const thisArg = argument(arguments, 1);
    const result = arraySpeciesCreate(O, 0);
    let to = 0;
    for (let k = 0; k < len; k++) {
      if (k in O) {
        const value = O[k];
        if (ReflectApply(callbackfn, thisArg, [value, k, O])) createDataPropertyOrThrow(result, to++, value);
      }
    }
    return result;
  },
  some(callbackfn) {
    if (isSmall(this)) return ReflectApply(guarded.some, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    requireCallable(callbackfn);
    const thisArg = argument(arguments, 1);
    for (let k = 0; k < len; k++) {
      if (k in O && ReflectApply(callbackfn, thisArg, [O[k], k, O])) return true;
    }
    return false;
  },
  every(callbackfn) {
    if (isSmall(this)) return ReflectApply(guarded.every, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    requireCallable(callbackfn);
    const thisArg = argument(arguments, 1);
    for (let k = 0; k < len; k++) {
      if (k in O && !ReflectApply(callbackfn, thisArg, [O[k], k, O])) return false;
    }
    return true;
  },
  reduce(callbackfn) {
    if (isSmall(this)) return ReflectApply(guarded.reduce, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    requireCallable(callbackfn);
    let k = 0;
    let accumulator;
    if (arguments.length > 1) {
      accumulator = arguments[1];
    } else {
      for (; k < len && !(k in O); k++) { /* find the first present element */ }
      if (k >= len) throw new TypeErrorCtor('Reduce of empty array with no initial value');
      accumulator = O[k++];
    }
    for (; k < len; k++) {
      if (k in O) accumulator = ReflectApply(callbackfn, undefined, [accumulator, O[k], k, O]);
    }
    return accumulator;
  },
  reduceRight(callbackfn) {
    if (isSmall(this)) return ReflectApply(guarded.reduceRight, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    requireCallable(callbackfn);
    let k = len - 1;
    let accumulator;
    if (arguments.length > 1) {
      accumulator = arguments[1];
    } else {
      for (; k >= 0 && !(k in O); k--) { /* find the last present element */ }
      if (k < 0) throw new TypeErrorCtor('Reduce of empty array with no initial value');
      accumulator = O[k--];
    }
    for (; k >= 0; k--) {
      if (k in O) accumulator = ReflectApply(callbackfn, undefined, [accumulator, O[k], k, O]);
    }
    return accumulator;
  },
  slice(start, end) {
    if (isSmall(this)) return ReflectApply(guarded.slice, this, arguments);
    const O = ObjectCtor(this);
    const len = lengthOfArrayLike(O);
    let k = relativeIndex(start, len);
    const final = end === undefined ? len : relativeIndex(end, len);
    const count = MathMax(final - k, 0);
    const result = arraySpeciesCreate(O, count);
    let n = 0;
    for (; k < final; k++, n++) {
      if (k in O) createDataPropertyOrThrow(result, n, O[k]);
    }
    result.length = n;
    return result;
  },
  flat() {
    if (isSmall(this)) return ReflectApply(guarded.flat, this, arguments);
    const O = ObjectCtor(this);
    const sourceLen = lengthOfArrayLike(O);
    const depthArgument = argument(arguments, 0);
    const depth = depthArgument === undefined ? 1 : MathMax(toIntegerOrInfinity(depthArgument), 0);
    const result = arraySpeciesCreate(O, 0);
    flattenIntoArray(result, O, sourceLen, 0, depth);
    return result;
  },
};

function flattenIntoArray(target, source, sourceLen, start, depth, mapper, thisArg) {
  let targetIndex = start;
  for (let sourceIndex = 0; sourceIndex < sourceLen; sourceIndex++) {
    if (!(sourceIndex in source)) continue;
    let element = source[sourceIndex];
    if (mapper !== undefined) element = ReflectApply(mapper, thisArg, [element, sourceIndex, source]);
    if (depth > 0 && ArrayIsArray(element)) {
      targetIndex = flattenIntoArray(target, element, lengthOfArrayLike(element), targetIndex, depth - 1);
    } else {
      if (targetIndex >= MAX_SAFE_LENGTH) throw new TypeErrorCtor('Array too long');
      createDataPropertyOrThrow(target, targetIndex++, element);
    }
  }
  return targetIndex;
}
arrayMethods.flatMap = {
  flatMap(mapper) {
    if (isSmall(this)) return ReflectApply(guarded.flatMap, this, arguments);
    const O = ObjectCtor(this);
    const sourceLen = lengthOfArrayLike(O);
    requireCallable(mapper);
    const result = arraySpeciesCreate(O, 0);
    flattenIntoArray(result, O, sourceLen, 0, 1, mapper, argument(arguments, 1));
    return result;
  },
}.flatMap;

// join's cycle detection: V8 joins a receiver that is already being joined (an array that
// contains itself) as the empty string instead of recursing; the JS path keeps the same rule.
const joining = new WeakSetCtor();
function joinCycleSafe(O, len, render, sep) {
  if (WeakSetHas(joining, O)) return '';
  WeakSetAdd(joining, O);
  try {
    const result = newBuilder();
    for (let k = 0; k < len; k++) {
      if (k > 0) append(result, sep);
      append(result, render(O[k]));
    }
    return build(result);
  } finally {
    WeakSetDelete(joining, O);
  }
}

// The default SortCompare (undefined is placed last by the sort itself, never compared).
// Template literals are ToString: a Symbol throws, as in the built-in.
const defaultCompare = (x, y) => {
  const xs = `${x}`;
  const ys = `${y}`;
  return xs < ys ? -1 : xs > ys ? 1 : 0;
};
// True when the original default sort of this receiver is small enough to run uninterrupted.
function smallSort(receiver) {
  if (receiver === null || receiver === undefined) return true;
  const length = ObjectCtor(receiver).length;   // isSmall() proved this is an own data property
  return typeof length !== 'number' || length <= SMALL_SORT;
}
// Sorts a prototype-less list of present elements the way the built-in sort does.
function sortList(items, comparefn) {
  if (comparefn !== undefined) {
    // The original sort calls the script's comparator, which is JS: interruptible, and the
    // sequence of comparisons is exactly the built-in's.
    ArraySort(items, comparefn);
    return;
  }
  // Default order. When every item is a primitive other than a Symbol, ToString runs no script
  // code, so the strings can be made once; any stable sort with the same order then gives the
  // built-in's result. Otherwise the built-in's sequence of ToString calls is kept.
  const count = items.length;
  let primitive = true;
  for (let i = 0; i < count && primitive; i++) {
    const item = items[i];
    primitive = item === null || (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol');
  }
  if (!primitive) {
    ArraySort(items, defaultCompare);
    return;
  }
  const keys = newList();
  const order = newList();
  for (let i = 0; i < count; i++) {
    const item = items[i];
    keys[i] = item === undefined ? undefined : `${item}`;
    order[i] = i;
  }
  ArraySort(order, (a, b) => {
    const ka = keys[a];
    const kb = keys[b];
    if (ka === undefined) return kb === undefined ? a - b : 1;
    if (kb === undefined) return -1;
    return ka < kb ? -1 : ka > kb ? 1 : a - b;
  });
  const sorted = newList();
  for (let i = 0; i < count; i++) sorted[i] = items[order[i]];
  for (let i = 0; i < count; i++) items[i] = sorted[i];
}

const arrayNames = ['includes', 'indexOf', 'lastIndexOf', 'reverse', 'fill', 'copyWithin', 'join', 'toLocaleString',
  'sort', 'toSorted', 'toReversed', 'with', 'forEach', 'map', 'filter', 'some', 'every', 'reduce', 'reduceRight',
  'slice', 'flat', 'flatMap'];
for (let i = 0; i < arrayNames.length; i++) {
  const name = arrayNames[i];
  const original = originalOf(name);
  if (typeof original !== 'function') continue;
  guarded[name] = original;
  install(A, name, arrayMethods[name], original);
}

// --- Array.from: without a map function, an array-like or iterable of any length is copied
// inside the engine. An identity map function makes the original call JS once per element
// (interruptible) with the same result: mapfn(value, k) returns value.
const ArrayFrom = ArrayCtor.from;
const identity = (value) => value;
const fromMethods = {
  from(items) {
    const mapfn = argument(arguments, 1);
    if (mapfn !== undefined || (typeof items === 'string' ? items.length <= SMALL_LENGTH : ArrayIsArray(items) && isSmall(items))) {
      return ReflectApply(ArrayFrom, this, arguments);
    }
    return ReflectApply(ArrayFrom, this, [items, identity]);
  },
};
install(ArrayCtor, 'from', fromMethods.from, ArrayFrom);

// --- String replacement with a replacement string: the original with a function replacer
// implementing GetSubstitution, so each match is a JS call. Only for primitive string
// arguments, whose ToString runs no script code, so nothing observable moves.
function getSubstitution(matched, str, position, captures, namedCaptures, template) {
  let result = '';
  let i = 0;
  const templateLength = template.length;
  while (i < templateLength) {
    const dollar = StringIndexOf(template, '$', i);
    if (dollar === -1) {
      result += StringSlice(template, i);
      break;
    }
    result += StringSlice(template, i, dollar);
    i = dollar;
    const next = dollar + 1 < templateLength ? StringCharCodeAt(template, dollar + 1) : -1;
    if (next === 0x24) {            // $$
      result += '$';
      i += 2;
    } else if (next === 0x60) {     // $`
      result += StringSlice(str, 0, position);
      i += 2;
    } else if (next === 0x26) {     // $&
      result += matched;
      i += 2;
    } else if (next === 0x27) {     // $'
      result += StringSlice(str, MathMin(position + matched.length, str.length));
      i += 2;
    } else if (next >= 0x30 && next <= 0x39) {
      const second = dollar + 2 < templateLength ? StringCharCodeAt(template, dollar + 2) : -1;
      let digitCount = second >= 0x30 && second <= 0x39 ? 2 : 1;
      let index = digitCount === 2 ? (next - 0x30) * 10 + (second - 0x30) : next - 0x30;
      if (index > captures.length && digitCount === 2) {
        digitCount = 1;
        index = next - 0x30;
      }
      if (index >= 1 && index <= captures.length) {
        const capture = captures[index - 1];
        result += capture === undefined ? '' : capture;
      } else {
        result += StringSlice(template, dollar, dollar + 1 + digitCount);
      }
      i += 1 + digitCount;
    } else if (next === 0x3c) {     // $<
      const gtPos = StringIndexOf(template, '>', dollar);
      if (gtPos === -1 || namedCaptures === undefined) {
        result += '$<';
        i += 2;
      } else {
        const capture = ObjectCtor(namedCaptures)[StringSlice(template, dollar + 2, gtPos)];
        result += capture === undefined ? '' : `${capture}`;
        i = gtPos + 1;
      }
    } else {
      result += '$';
      i += 1;
    }
  }
  return result;
}
// A replacer for the RegExp and string-pattern paths: arguments are
// (matched, ...captures, position, string[, namedCaptures]).
function substitutionReplacer(template) {
  return function (matched) {
    const count = arguments.length;
    const hasGroups = typeof arguments[count - 1] !== 'string';
    const last = hasGroups ? count - 2 : count - 1;
    const captures = newList();
    for (let i = 1; i < last - 1; i++) captures[i - 1] = arguments[i];
    return getSubstitution(matched, arguments[last], arguments[last - 1], captures, hasGroups ? arguments[count - 1] : undefined, template);
  };
}

// RegExp.prototype[Symbol.replace] on a long string: V8 collects every match inside the engine
// before it replaces anything (measured: 32M matches ran 10 s without an interrupt check), with
// a replacement string or function alike. The JS path below is the specification's algorithm
// (ES2024 22.2.6.11), with each exec a separate call. When exec is the original and the
// receiver a real RegExp, the match records are V8's own arrays, whose reads run no script code,
// and a replacement string calls no script either: the matches are then replaced as they are
// found (same result, without holding every match record at once).
const RegExpReplace = RegExp.prototype[SymbolReplace];
const RegExpExecOriginal = RegExp.prototype.exec;
function replaceSlow(rx, S, replaceValue) {
  const lengthS = S.length;
  const functionalReplace = typeof replaceValue === 'function';
  const flags = `${rx.flags}`;
  const global = StringIndexOf(flags, 'g') !== -1;
  const fullUnicode = global && (StringIndexOf(flags, 'u') !== -1 || StringIndexOf(flags, 'v') !== -1);
  if (global) rx.lastIndex = 0;
  const accumulated = newBuilder();
  let nextSourcePosition = 0;
  const apply = (result) => {
    const nCaptures = MathMax(lengthOfArrayLike(result) - 1, 0);
    const matched = `${result[0]}`;
    const position = MathMax(MathMin(toIntegerOrInfinity(result.index), lengthS), 0);
    const captures = newList();
    for (let n = 1; n <= nCaptures; n++) {
      const capture = result[n];
      captures[n - 1] = capture === undefined ? undefined : `${capture}`;
    }
    let namedCaptures = result.groups;
    let replacement;
    if (functionalReplace) {
      const args = newList();
      let argc = 0;
      args[argc++] = matched;
      for (let n = 0; n < nCaptures; n++) args[argc++] = captures[n];
      args[argc++] = position;
      args[argc++] = S;
      if (namedCaptures !== undefined) args[argc++] = namedCaptures;
      replacement = `${ReflectApply(replaceValue, undefined, args)}`;
    } else {
      if (namedCaptures !== undefined) namedCaptures = ObjectCtor(namedCaptures);
      replacement = getSubstitution(matched, S, position, captures, namedCaptures, replaceValue);
    }
    if (position >= nextSourcePosition) {
      append(accumulated, StringSlice(S, nextSourcePosition, position));
      append(accumulated, replacement);
      nextSourcePosition = position + matched.length;
    }
  };
  // Streaming is exact only for V8's own match arrays (see above); anything else keeps the
  // specification's order: every exec first, then every replacement.
  const results = newList();
  let resultCount = 0;
  for (;;) {
    const exec = rx.exec;
    let result;
    let own = false;
    if (typeof exec === 'function') {
      own = exec === RegExpExecOriginal && !WeakSetHas(proxies, rx);
      result = ReflectApply(exec, rx, [S]);
      if (result !== null && typeof result !== 'object') throw new TypeErrorCtor('exec result must be an object or null');
    } else {
      result = ReflectApply(RegExpExecOriginal, rx, [S]);
    }
    if (result === null) break;
    if (own && !functionalReplace && resultCount === 0) {
      apply(result);
    } else {
      results[resultCount++] = result;
    }
    if (!global) break;
    if (`${result[0]}` === '') {
      const thisIndex = toLength(rx.lastIndex);
      rx.lastIndex = fullUnicode && thisIndex + 1 < lengthS && StringCodePointAt(S, thisIndex) > 0xffff ? thisIndex + 2 : thisIndex + 1;
    }
  }
  for (let i = 0; i < resultCount; i++) apply(results[i]);
  if (nextSourcePosition < lengthS) append(accumulated, StringSlice(S, nextSourcePosition));
  return build(accumulated);
}
const regExpMethods = {
  [SymbolReplace](string, replaceValue) {
    if (this !== null && (typeof this === 'object' || typeof this === 'function') && typeof string === 'string'
        && string.length > SMALL_STRING && (typeof replaceValue === 'string' || typeof replaceValue === 'function')) {
      return replaceSlow(this, string, replaceValue);
    }
    return ReflectApply(RegExpReplace, this, arguments);
  },
};
install(RegExp.prototype, SymbolReplace, regExpMethods[SymbolReplace], RegExpReplace);

const StringReplaceAll = String.prototype.replaceAll;
const replaceAllMethods = {
  replaceAll(searchValue, replaceValue) {
    if (typeof this === 'string' && this.length > SMALL_STRING && typeof searchValue === 'string' && typeof replaceValue === 'string') {
      return ReflectApply(StringReplaceAll, this, [searchValue, substitutionReplacer(replaceValue)]);
    }
    return ReflectApply(StringReplaceAll, this, arguments);
  },
};
install(String.prototype, 'replaceAll', replaceAllMethods.replaceAll, StringReplaceAll);

// --- normalize: the original on chunks that end just before an ASCII character or a Latin-1
// letter (U+00C0–U+00FF). Each of these is a starter (canonical combining class 0) whose
// decomposition, canonical or compatibility, begins with a starter, and none is the second
// element of a canonical composition: no normalisation step (decomposition, reordering of
// non-starters, composition with the last starter) crosses the point before it, so
// normalize(a + b) === normalize(a) + normalize(b) there. Text without such a character for
// longer than a chunk is normalised in one call (docs/limits.md: what remains).
const StringNormalize = String.prototype.normalize;
const asciiPattern = /[\0-\x7f\xc0-\xff]/;
const normalizeMethods = {
  normalize() {
    if (typeof this !== 'string' || this.length <= NORMALIZE_CHUNK) return ReflectApply(StringNormalize, this, arguments);
    // The form is converted once (ToString runs script code for an object) and validated
    // by the original (RangeError for an unknown form) before any chunk is normalised.
    const form = argument(arguments, 0) === undefined ? 'NFC' : `${argument(arguments, 0)}`;
    ReflectApply(StringNormalize, '', [form]);
    const str = this;
    let result = '';
    let start = 0;
    while (start < str.length) {
      let end = start + NORMALIZE_CHUNK;
      if (end >= str.length) {
        end = str.length;
      } else {
        const nextAscii = StringSearch(StringSlice(str, end, end + NORMALIZE_CHUNK), asciiPattern);
        end = nextAscii === -1 ? MathMin(end + NORMALIZE_CHUNK, str.length) : end + nextAscii;
        if (nextAscii === -1 && end < str.length) {
          // No safe split point nearby: extend to the next ASCII character, whatever the size.
          const further = StringSearch(StringSlice(str, end), asciiPattern);
          end = further === -1 ? str.length : end + further;
        }
      }
      result += ReflectApply(StringNormalize, StringSlice(str, start, end), [form]);
      start = end;
    }
    return result;
  },
};
install(String.prototype, 'normalize', normalizeMethods.normalize, StringNormalize);

// --- Collation: ICU compares two strings in one call that never checks for interrupts
// (measured here: ~100–150 ns per code unit when only accents differ, e.g. 'é…' against 'e…').
// No chunking gives the same order (contractions, and secondary differences decided at the
// end), so the work is bounded instead: comparing more than COLLATE_LIMIT code units in total
// is refused with a catchable RangeError, unless the strings are identical (always 0).
const COLLATE_LIMIT = 1 << 21;
function checkCollation(x, y) {
  if (x.length + y.length > COLLATE_LIMIT && x !== y) {
    throw new RangeErrorCtor(`Comparing strings of more than ${COLLATE_LIMIT} characters in total is refused in this sandbox: ICU compares them in one call that cannot be stopped at the time limit`);
  }
}
const StringLocaleCompare = String.prototype.localeCompare;
const localeCompareMethods = {
  localeCompare(that) {
    if (this === null || this === undefined) return ReflectApply(StringLocaleCompare, this, arguments);
    const S = `${this}`;
    const T = `${that}`;
    checkCollation(S, T);
    return ReflectApply(StringLocaleCompare, S, [T, argument(arguments, 1), argument(arguments, 2)]);
  },
};
install(String.prototype, 'localeCompare', localeCompareMethods.localeCompare, StringLocaleCompare);

// Intl.Collator.prototype.compare is a getter that returns one bound function per collator;
// the wrapper getter returns one guarded function per collator, so identity is kept.
const CollatorPrototype = typeof Intl === 'object' && Intl !== null ? Intl.Collator.prototype : undefined;
const compareDescriptor = CollatorPrototype !== undefined ? ReflectGetOwnPropertyDescriptor(CollatorPrototype, 'compare') : undefined;
if (compareDescriptor !== undefined && typeof compareDescriptor.get === 'function') {
  const originalGetter = compareDescriptor.get;
  const guardedCompares = new WeakMapCtor();
  const getterHolder = {
    get compare() {
      const bound = ReflectApply(originalGetter, this, []);   // throws for a non-collator, as the original
      let guardedCompare = WeakMapGet(guardedCompares, bound);
      if (guardedCompare === undefined) {
        guardedCompare = [(x, y) => {
          const xs = `${x}`;
          const ys = `${y}`;
          checkCollation(xs, ys);
          return bound(xs, ys);
        }][0];
        WeakMapSet(originals, guardedCompare, bound);
        WeakMapSet(guardedCompares, bound, guardedCompare);
      }
      return guardedCompare;
    },
  };
  const guardedGetter = ReflectGetOwnPropertyDescriptor(getterHolder, 'compare').get;
  WeakMapSet(originals, guardedGetter, originalGetter);
  ReflectDefineProperty(CollatorPrototype, 'compare', { __proto__: null, get: guardedGetter, set: undefined, enumerable: compareDescriptor.enumerable, configurable: compareDescriptor.configurable });
}

// --- %TypedArray%.prototype.sort/toSorted without a comparator: V8 sorts numerically inside
// the engine (1e8 doubles: seconds, no interrupt check), and with a comparator it first copies
// every element into a boxed work array, also uninterrupted. A big typed array is therefore
// sorted here by a JS merge sort in a scratch copy of the same type, with the built-in's
// numeric order (-0 before +0, NaN last). The elements are numbers or BigInts, which nothing
// can observe being compared, and equal elements are indistinguishable (but for NaN payloads,
// which V8 does not keep either), so any sort by that order gives the same result.
const TypedArrayPrototype = ReflectGetPrototypeOf(Uint8Array.prototype);
const typedArrayConstructors = { __proto__: null };
for (let i = 0; i < typedArrayNames.length; i++) {
  if (typeof global[typedArrayNames[i]] === 'function') typedArrayConstructors[typedArrayNames[i]] = global[typedArrayNames[i]];
}
const numericLess = (x, y) => x < y || (x !== x ? false : y !== y ? true : x === 0 && y === 0 && 1 / x < 0 && 1 / y > 0);
// Sorts `data` in place; `scratch` is a typed array of the same type and length.
function mergeSortTyped(data, scratch, length) {
  let from = data;
  let to = scratch;
  for (let width = 1; width < length; width *= 2) {
    for (let left = 0; left < length; left += 2 * width) {
      const middle = MathMin(left + width, length);
      const right = MathMin(left + 2 * width, length);
      let i = left;
      let j = middle;
      let k = left;
      while (i < middle && j < right) {
        // Stable: the left run's element goes first unless the right one is strictly less.
        if (numericLess(from[j], from[i])) to[k++] = from[j++]; else to[k++] = from[i++];
      }
      while (i < middle) to[k++] = from[i++];
      while (j < right) to[k++] = from[j++];
    }
    const swap = from;
    from = to;
    to = swap;
  }
  if (from !== data) TypedArraySet(data, from);
}
// The length of a typed array whose default sort is too big to run uninterrupted, or -1.
const bigTypedArray = (receiver) => {
  try {
    const length = TypedArrayLength(receiver);
    return length > SMALL_SORT * 4 ? length : -1;
  } catch (notTypedArray) {
    return -1;   // the original throws its own TypeError
  }
};
const TypedArraySort = TypedArrayPrototype.sort;
const TypedArrayToSorted = TypedArrayPrototype.toSorted;
const typedArrayMethods = {
  sort(comparefn) {
    const length = comparefn === undefined ? bigTypedArray(this) : -1;
    if (length < 0) return ReflectApply(TypedArraySort, this, arguments);
    const Ctor = typedArrayConstructors[TypedArrayTag(this)];
    mergeSortTyped(this, new Ctor(length), length);
    return this;
  },
  toSorted(comparefn) {
    const length = comparefn === undefined ? bigTypedArray(this) : -1;
    if (length < 0) return ReflectApply(TypedArrayToSorted, this, arguments);
    const Ctor = typedArrayConstructors[TypedArrayTag(this)];
    const result = new Ctor(length);
    TypedArraySet(result, this);
    mergeSortTyped(result, new Ctor(length), length);
    return result;
  },
};
install(TypedArrayPrototype, 'sort', typedArrayMethods.sort, TypedArraySort);
if (typeof TypedArrayToSorted === 'function') install(TypedArrayPrototype, 'toSorted', typedArrayMethods.toSorted, TypedArrayToSorted);
