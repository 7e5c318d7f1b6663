// Chromium side: a dedicated module worker (the browser environment closest to a Warden isolate:
// `self` is the global, no DOM) runs the cases and posts the results back to the page.
import { runCases } from './harness.mjs';

runCases('chromium').then(
  (results) => postMessage({ userAgent: navigator.userAgent, results }),
  (error) => postMessage({ error: String(error) }),
);
