// The contract's words (status, limit and error names, limit messages) as the host spells them:
// one definition, in Warden.Protocol (WireStatus, WireErrorNames, LimitMessages), handed to the
// prelude's factory as a JSON string (a primitive: no host object) and read once here.
import { JSONParse, ObjectFreeze, StringIndexOf, StringSlice, StringCtor, TypeErrorCtor } from './primordials.js';

// The keys the prelude uses; the host's record (PreludeWords in Warden.Protocol) has exactly these.
const KEYS = ['scriptError', 'memoryLimit', 'outputLimit', 'limitArrayBuffer', 'limitResult',
  'outputLimitError', 'resultTooLarge'];

export let words = null;

// Parsed before any user code runs, with the captured JSON.parse; every word must be a string.
export function readWords(json) {
  const parsed = JSONParse(json);
  const record = { __proto__: null };
  for (let i = 0; i < KEYS.length; i++) {
    const value = parsed[KEYS[i]];
    if (typeof value !== 'string') throw new TypeErrorCtor('the prelude was not given the word ' + KEYS[i]);
    record[KEYS[i]] = value;
  }
  words = ObjectFreeze(record);
}

// A limit message's `{0}` filled in. Not with String.prototype.replace: it looks its search value's
// Symbol.replace up at run time, and engines that still do so for a primitive (older spec text) would
// hand the message to a method the script planted on String.prototype. indexOf and slice look up nothing.
export const formatWord = (template, value) => {
  const at = StringIndexOf(template, '{0}');
  return at < 0 ? template : StringSlice(template, 0, at) + StringCtor(value) + StringSlice(template, at + 3);
};
