// The built-ins Warden's own scripts rely on, captured when the bundle that imports this module is
// evaluated: in a fresh context, before any user code runs (the prelude's bundle first, then the
// built-in guards' bundle, each with its own copy of these bindings).
//
// SECURITY: user code may later replace any global or prototype method; Warden's code only ever
// calls what was captured here, so such patching can break the user's own execution but never
// reach the bridge or change what Warden reports. Every capture below is a module-level binding of
// the bundle's closure: nothing here is stored where user code can reach it. A bundle may keep
// captures it does not use (esbuild cannot prove a property read free of effects); they are taken
// before user code runs like the others, and never called.

export const global = globalThis;
export const ReflectApply = Reflect.apply;
export const ReflectConstruct = Reflect.construct;
export const ReflectDefineProperty = Reflect.defineProperty;
export const ReflectDeleteProperty = Reflect.deleteProperty;
export const ReflectOwnKeys = Reflect.ownKeys;
export const ReflectGetPrototypeOf = Reflect.getPrototypeOf;
export const ReflectSetPrototypeOf = Reflect.setPrototypeOf;
export const ReflectGetOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
export const ObjectCtor = Object;
export const ObjectKeys = Object.keys;
export const ObjectFreeze = Object.freeze;
export const ObjectPrototypeToString = Object.prototype.toString;
export const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
export const ObjectHasOwn = Object.hasOwn;
export const ArrayCtor = Array;
export const ArrayIsArray = Array.isArray;
export const JSONStringify = JSON.stringify;
export const JSONParse = JSON.parse;
export const StringCtor = String;
export const NumberCtor = Number;
export const MathMax = Math.max;
export const MathMin = Math.min;
export const MathTrunc = Math.trunc;
export const MathFloor = Math.floor;
export const MathCeil = Math.ceil;
export const NumberIsNaN = Number.isNaN;
export const ObjectIs = Object.is;
export const IndirectEval = global.eval;
export const ErrorCtor = Error;
export const TypeErrorCtor = TypeError;
export const RangeErrorCtor = RangeError;
export const MapCtor = Map;
export const SetCtor = Set;
export const WeakSetCtor = WeakSet;
export const WeakMapCtor = WeakMap;
export const WeakRefCtor = WeakRef;
export const FinalizationRegistryCtor = FinalizationRegistry;
export const ProxyCtor = Proxy;
export const PromiseCtor = Promise;
export const ArrayBufferIsView = ArrayBuffer.isView;
export const SymbolToStringTag = Symbol.toStringTag;
export const SymbolSpecies = Symbol.species;
export const SymbolReplace = Symbol.replace;
export const NumberToFixed = Number.prototype.toFixed;
export const DateNow = Date.now;

// Every array Warden's code fills has no prototype: an index write on an ordinary array consults
// Array.prototype, where user code can plant setters that would receive Warden's records.
export const newList = () => {
  const list = [];
  ReflectSetPrototypeOf(list, null);
  return list;
};
// A method as a plain function of its receiver, so that no later call looks it up on a prototype.
export const uncurry = (fn) => (thisArg, ...args) => ReflectApply(fn, thisArg, args);
const getterOf = (object, key) => ObjectGetOwnPropertyDescriptor(object, key).get;
const TypedArrayPrototype = /* @__PURE__ */ ReflectGetPrototypeOf(Uint8Array.prototype);

export const StringSlice = /* @__PURE__ */ uncurry(String.prototype.slice);
export const StringSplit = /* @__PURE__ */ uncurry(String.prototype.split);
export const StringIndexOf = /* @__PURE__ */ uncurry(String.prototype.indexOf);
export const StringStartsWith = /* @__PURE__ */ uncurry(String.prototype.startsWith);
export const StringEndsWith = /* @__PURE__ */ uncurry(String.prototype.endsWith);
export const StringReplace = /* @__PURE__ */ uncurry(String.prototype.replace);
export const StringCharCodeAt = /* @__PURE__ */ uncurry(String.prototype.charCodeAt);
export const StringCodePointAt = /* @__PURE__ */ uncurry(String.prototype.codePointAt);
export const StringSearch = /* @__PURE__ */ uncurry(String.prototype.search);
export const StringValueOf = /* @__PURE__ */ uncurry(String.prototype.valueOf);
export const RegExpExec = /* @__PURE__ */ uncurry(RegExp.prototype.exec);
export const RegExpToString = /* @__PURE__ */ uncurry(RegExp.prototype.toString);
export const RegExpSource = /* @__PURE__ */ uncurry(/* @__PURE__ */ getterOf(RegExp.prototype, 'source'));
export const ArrayPush = /* @__PURE__ */ uncurry(Array.prototype.push);
export const ArrayPop = /* @__PURE__ */ uncurry(Array.prototype.pop);
export const ArrayJoin = /* @__PURE__ */ uncurry(Array.prototype.join);
export const MapGet = /* @__PURE__ */ uncurry(Map.prototype.get);
export const MapSet = /* @__PURE__ */ uncurry(Map.prototype.set);
export const MapHas = /* @__PURE__ */ uncurry(Map.prototype.has);
export const MapDelete = /* @__PURE__ */ uncurry(Map.prototype.delete);
export const MapEntries = /* @__PURE__ */ uncurry(Map.prototype.entries);
export const MapSize = /* @__PURE__ */ uncurry(/* @__PURE__ */ getterOf(Map.prototype, 'size'));
export const SetValues = /* @__PURE__ */ uncurry(Set.prototype.values);
export const SetSize = /* @__PURE__ */ uncurry(/* @__PURE__ */ getterOf(Set.prototype, 'size'));
export const SetAdd = /* @__PURE__ */ uncurry(Set.prototype.add);
export const SetHas = /* @__PURE__ */ uncurry(Set.prototype.has);
export const SetDelete = /* @__PURE__ */ uncurry(Set.prototype.delete);
export const WeakSetAdd = /* @__PURE__ */ uncurry(WeakSet.prototype.add);
export const WeakSetHas = /* @__PURE__ */ uncurry(WeakSet.prototype.has);
export const WeakSetDelete = /* @__PURE__ */ uncurry(WeakSet.prototype.delete);
export const WeakMapGet = /* @__PURE__ */ uncurry(WeakMap.prototype.get);
export const WeakMapSet = /* @__PURE__ */ uncurry(WeakMap.prototype.set);
export const WeakRefDeref = /* @__PURE__ */ uncurry(WeakRef.prototype.deref);
export const IteratorNext = (it) => it.next();
export const DateToISOString = /* @__PURE__ */ uncurry(Date.prototype.toISOString);
export const DateGetTime = /* @__PURE__ */ uncurry(Date.prototype.getTime);
export const SymbolToString = /* @__PURE__ */ uncurry(Symbol.prototype.toString);
export const SymbolDescription = /* @__PURE__ */ uncurry(/* @__PURE__ */ getterOf(Symbol.prototype, 'description'));
export const TypedArrayLength = /* @__PURE__ */ uncurry(/* @__PURE__ */ getterOf(TypedArrayPrototype, 'length'));
export const TypedArrayTag = /* @__PURE__ */ uncurry(/* @__PURE__ */ getterOf(TypedArrayPrototype, SymbolToStringTag));
export const TypedArraySet = /* @__PURE__ */ uncurry(TypedArrayPrototype.set);
export const ArrayBufferByteLength = /* @__PURE__ */ uncurry(/* @__PURE__ */ getterOf(ArrayBuffer.prototype, 'byteLength'));

// The names of the typed-array constructors, as globals.
export const typedArrayNames = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
  'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];
