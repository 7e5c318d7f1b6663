// performance.now() and performance.timeOrigin (High Resolution Time). The clock is the execution's
// own (host.now(): milliseconds since the execution began, monotonic), coarsened to 100 µs as in
// browsers without cross-origin isolation, so it is no sharper a timer for side channels than Chrome's.
export function createPerformance(host) {
  let constructing = false;
  const origin = host.timeOrigin();
  const coarse = (ms) => Math.floor(ms * 10) / 10;

  class Performance {
    constructor() {
      if (!constructing) throw new TypeError('Illegal constructor');
    }

    now() {
      if (!(this instanceof Performance)) throw new TypeError('Illegal invocation');
      return coarse(host.now());
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
