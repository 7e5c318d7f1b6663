// performance.now() and performance.timeOrigin (High Resolution Time). The clock is the execution's
// own (host.now(): milliseconds since the execution began, monotonic), which the prelude already
// coarsens to 100 µs as in browsers without cross-origin isolation: no sharper a timer for side
// channels than Chrome's.
export function createPerformance(host) {
  let constructing = false;
  const origin = host.timeOrigin();

  class Performance {
    constructor() {
      if (!constructing) throw new TypeError('Illegal constructor');
    }

    now() {
      if (!(this instanceof Performance)) throw new TypeError('Illegal invocation');
      return host.now();
    }

    get timeOrigin() {
      if (!(this instanceof Performance)) throw new TypeError('Illegal invocation');
      return origin;
    }

    toJSON() {
      if (!(this instanceof Performance)) throw new TypeError('Illegal invocation');
      return { timeOrigin: origin };
    }
  }
  Object.defineProperty(Performance.prototype, Symbol.toStringTag, { value: 'Performance', configurable: true });

  constructing = true;
  const performance = new Performance();
  constructing = false;
  return { Performance, performance };
}
