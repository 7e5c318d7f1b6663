// Modules, as ClearScript runs them (the neutral part runs the evaluated module's default export:
// see moduleEvaluated in Prelude/entry.js).
import { ErrorCtor } from '../../Prelude/primordials.js';
import { fail, settled } from '../../Prelude/result.js';
import { moduleEvaluated } from '../../Prelude/entry.js';

// Modules. Every failure of a module graph must reach fail() here as a value, never ClearScript
// (which would copy a thrown value's text into .NET outside every limit: a 32 MB thrown string
// took the execution past its timeout). Two steps, because of how ClearScript runs modules:
//  1. The graph is started with a dynamic import() of the entry. ClearScript loads (in-memory
//     loader only), compiles, links and evaluates the graph synchronously inside this call, and a
//     failure to load, parse or link rejects the import: caught below. But ClearScript resolves the
//     import with the namespace even when evaluation threw or is still in a top-level await (it
//     drops the evaluation's promise; measured), so the import says nothing about evaluation.
//  2. .NET then evaluates Warden's fixed wrapper module: it imports the entry (linked and evaluated
//     by now, so linking cannot fail) and holds a top-level await, which makes ClearScript hand the
//     evaluation back as a promise rather than throw a rejection into .NET. awaitModule() awaits
//     it: a top-level throw or a rejected top-level await arrives here as the value thrown.
let entryNamespace = null;
export function startModule(specifier) {
  (async () => {
    let ns;
    try {
      ns = await import(specifier);
    } catch (e) {
      // "module": a SyntaxError from this phase is located by .NET compiling the sources.
      fail(e, 'module');
      return;
    }
    entryNamespace = ns;
  })();
}

// `evaluation` is the promise of the wrapper module's evaluation (step 2 above). Once it settles the
// namespace is fully evaluated; the default export is then run from tick(), on the shallow stack
// of a call from .NET.
export function awaitModule(evaluation) {
  (async () => {
    try {
      await evaluation;
    } catch (e) {
      fail(e, 'run');
      return;
    }
    if (settled) return;
    if (entryNamespace === null) {
      fail(new ErrorCtor('The module finished evaluating before its import settled'), 'run');
      return;
    }
    const ns = entryNamespace;
    entryNamespace = null;
    moduleEvaluated(ns);
  })();
}

