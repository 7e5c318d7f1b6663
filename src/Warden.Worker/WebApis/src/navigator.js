// navigator, as in a worker: identifies Warden, and says nothing about the machine it runs on
// (hardwareConcurrency is a fixed 1: the worker runs one script thread).
export function createNavigator(userAgent) {
  const navigator = {};
  Object.defineProperties(navigator, {
    userAgent: { value: userAgent, enumerable: true },
    hardwareConcurrency: { value: 1, enumerable: true },
    language: { value: 'en-US', enumerable: true },
    languages: { value: Object.freeze(['en-US']), enumerable: true },
    [Symbol.toStringTag]: { value: 'WorkerNavigator', configurable: true },
  });
  return navigator;
}
