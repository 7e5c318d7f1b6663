// Rendering values to bounded text (console entries and error messages), inside the isolate and
// under the execution's limits.
import {
  ReflectApply, ObjectKeys, ObjectPrototypeToString, ArrayIsArray, JSONStringify, StringCtor, NumberIsNaN,
  ObjectIs, ErrorCtor, SetCtor, ArrayBufferIsView, newList, StringSlice, RegExpExec, ArrayPush, ArrayJoin,
  MapEntries, MapSize, SetValues, SetSize, SetAdd, SetHas, SetDelete, IteratorNext, DateToISOString,
  DateGetTime, RegExpToString, RegExpSource, SymbolToString, SymbolDescription, TypedArrayLength,
  TypedArrayTag, ArrayBufferByteLength,
} from './primordials.js';
import { engine } from './engine.js';

export const TRUNCATED = { truncated: true };
// Strings a script makes can be ropes (V8 ConsStrings): `'x'.repeat(2 ** 28)` is a few hundred
// bytes of tree standing for 256 MB of text. Anything that reads their characters — slice,
// indexOf, replace, join, JSON.stringify, a Map lookup, handing them to .NET — first flattens the
// WHOLE string into one new allocation, which can abort the engine (worker lost). So the prelude
// checks `length` (always cheap) before any of those: text longer than its room is refused by
// length (console: output_limit) or cut; a prefix is taken only of a string short enough that
// flattening it costs little (SAFE_PREFIX_CHARS: at most ~2 MB), else a placeholder stands for it.
export const SAFE_PREFIX_CHARS = 1 << 20;
export const hugeStringText = (length) => '[a string of ' + length + ' characters]';
// Thrown (by console rendering only) once `oversizeText` holds the text that did not fit: the
// console then reports the entry's length to the bridge, which refuses it, without reading the
// text. Recognised by identity (`instanceof` would run a thrown proxy's traps).
export const OVERSIZE = { oversize: true };
let oversizeText = '';
export function oversize(text) {
  oversizeText = text;
  return OVERSIZE;
}
// The text that did not fit, taken once (the holder is cleared so that it keeps no rope alive).
export function takeOversizeText() {
  const text = oversizeText;
  oversizeText = '';
  return text;
}
export const symbolText = (sym) => {
  const description = SymbolDescription(sym);
  return description !== undefined && description.length > SAFE_PREFIX_CHARS
    ? 'Symbol(' + hugeStringText(description.length) + ')' : SymbolToString(sym);
};
// An Error's `stack` is formatted by V8 on first read, copying its name and message into one
// flat string: it is read only when both are short. (A getter that answers short here and huge
// to V8's formatter still makes V8 build that string: the engine's heap limit then ends it.)
export function errorStack(e) {
  const name = e.name, message = e.message;
  if ((typeof name === 'string' && name.length > SAFE_PREFIX_CHARS)
      || (typeof message === 'string' && message.length > SAFE_PREFIX_CHARS)) {
    return undefined;
  }
  const stack = e.stack;
  return typeof stack === 'string' ? stack : undefined;
}

export function hasBrand(check, v) {
  try {
    check(v);
    return true;
  } catch (notBranded) {
    return false;
  }
}

// `forConsole`: text that does not fit throws OVERSIZE (the console entry is then refused by its
// length); otherwise it is cut, a huge string standing as a placeholder.
export function renderValue(value, maxChars, forConsole) {
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
      emit(stack !== undefined ? engine.cleanStackText(stack, true) : StringCtor(v.name) + ': ' + StringCtor(v.message));
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
