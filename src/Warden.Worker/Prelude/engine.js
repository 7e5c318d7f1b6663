// What the engine part of a prelude supplies to the engine-neutral modules: the few things whose
// form belongs to one engine (its stack-trace text, its way of refusing an allocation, its memory
// accounting). The engine's entry module fills this record once, before the prelude installs
// anything; the neutral modules only call through it.
//
// SECURITY: a module-level record of the bundle's closure, never handed to user code.
import { TypeErrorCtor } from './primordials.js';

export const engine = {
  __proto__: null,
  /** (stack, keepHeader) -> the stack text with only the submission's frames, in the engine's format. */
  cleanStackText: null,
  /** () -> the cleaned frames of the current call stack (console.trace), or ''. */
  stackHere: null,
  /** (entryName, documentNames) -> called once by start(): the documents a kept frame may name. */
  setDocuments: null,
  /** (memoryBudgetBytes) -> called once by start(), before any user code. */
  setMemoryBudget: null,
  /**
   * (thrown, describedMessage) -> the limit word when the thrown value is the engine's (or the
   * prelude's) refusal of memory, else undefined; decides memory_limit over script_error.
   */
  memoryRefusalLimit: null,
};

// The engine part names each hook; a missing one is Warden's own mistake, found at the first isolate.
export function bindEngine(parts) {
  const names = ['cleanStackText', 'stackHere', 'setDocuments', 'setMemoryBudget', 'memoryRefusalLimit'];
  for (let i = 0; i < names.length; i++) {
    const part = parts[names[i]];
    if (typeof part !== 'function') throw new TypeErrorCtor('the engine part does not supply ' + names[i]);
    engine[names[i]] = part;
  }
}
