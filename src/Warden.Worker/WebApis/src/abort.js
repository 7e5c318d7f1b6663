// AbortController and AbortSignal (DOM Standard, "Aborting ongoing activities"), on the EventTarget
// and Event of event-target-shim. Written here because the maintained stand-alone packages predate
// AbortSignal.timeout/any and reason; it is small and follows the spec's algorithms step by step.
// Timers come from the prelude's own queue (host.setTimeout), never from the global a script may
// have replaced.
export function createAbortApis(events, DOMException, host) {
  const { EventTarget, Event, defineEventAttribute } = events;
  let constructing = false;
  let signalAbort;
  let isSignal;

  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #algorithms = new Set();

    constructor() {
      if (!constructing) throw new TypeError('Illegal constructor');
      super();
    }

    static abort(reason) {
      const signal = createSignal();
      signal.#aborted = true;
      signal.#reason = reason !== undefined ? reason : new DOMException('signal is aborted without reason', 'AbortError');
      return signal;
    }

    static timeout(milliseconds) {
      // WebIDL [EnforceRange] unsigned long long.
      const ms = Number(milliseconds);
      if (!Number.isFinite(ms) || Math.trunc(ms) < 0 || Math.trunc(ms) > Number.MAX_SAFE_INTEGER) {
        throw new TypeError("Failed to execute 'timeout' on 'AbortSignal': Value is outside the 'unsigned long long' value range.");
      }
      const signal = createSignal();
      host.setTimeout(() => {
        signalAbort(signal, new DOMException('signal timed out', 'TimeoutError'));
      }, Math.trunc(ms));
      return signal;
    }

    static any(signals) {
      const list = Array.from(signals, (s) => {
        if (!isSignal(s)) throw new TypeError("Failed to execute 'any' on 'AbortSignal': Failed to convert value to 'AbortSignal'.");
        return s;
      });
      const result = createSignal();
      for (const source of list) {
        if (source.#aborted) {
          result.#aborted = true;
          result.#reason = source.#reason;
          return result;
        }
      }
      for (const source of list) {
        source.#algorithms.add(() => signalAbort(result, source.#reason));
      }
      return result;
    }

    get aborted() {
      return brand(this).#aborted;
    }

    get reason() {
      return brand(this).#reason;
    }

    throwIfAborted() {
      const signal = brand(this);
      if (signal.#aborted) throw signal.#reason;
    }

    // Class-private helpers: DOM "signal abort" and the brand check (static blocks see #fields).
    static {
      signalAbort = (signal, reason) => {
        if (signal.#aborted) return;
        signal.#aborted = true;
        signal.#reason = reason !== undefined ? reason : new DOMException('signal is aborted without reason', 'AbortError');
        const algorithms = Array.from(signal.#algorithms);
        signal.#algorithms.clear();
        for (const algorithm of algorithms) algorithm();
        signal.dispatchEvent(new Event('abort'));
      };
      isSignal = (value) => typeof value === 'object' && value !== null && #aborted in value;
    }
  }
  defineEventAttribute(AbortSignal.prototype, 'abort');
  Object.defineProperty(AbortSignal.prototype, Symbol.toStringTag, { value: 'AbortSignal', configurable: true });

  function brand(value) {
    if (!isSignal(value)) throw new TypeError('Illegal invocation');
    return value;
  }

  function createSignal() {
    constructing = true;
    try {
      return new AbortSignal();
    } finally {
      constructing = false;
    }
  }

  class AbortController {
    #signal = createSignal();

    get signal() {
      if (!(#signal in this)) throw new TypeError('Illegal invocation');
      return this.#signal;
    }

    abort(reason) {
      if (!(#signal in this)) throw new TypeError('Illegal invocation');
      signalAbort(this.#signal, reason);
    }
  }
  Object.defineProperty(AbortController.prototype, Symbol.toStringTag, { value: 'AbortController', configurable: true });

  return { AbortController, AbortSignal };
}
