// Bundles src/index.js and its pinned dependencies into one classic script for the worker to embed.
// Run by Warden.Worker.csproj before every build whose inputs changed: node build.mjs OUTPUT
// The output is a single expression statement: evaluated in an isolate, it yields createWebApis.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const output = process.argv[2];
if (!output) {
  console.error('usage: node build.mjs OUTPUT');
  process.exit(64);
}
const here = fileURLToPath(new URL('.', import.meta.url));

// core-js keeps its shared state on a global (see src/core-js-shared-store.js): every require of its
// internals/shared-store resolves to our module-local store instead.
const privateCoreJsStore = {
  name: 'private-core-js-store',
  setup(build) {
    build.onResolve({ filter: /(^|\/)internals\/shared-store(\.js)?$/ }, (args) =>
      args.resolveDir.includes('core-js-pure') ? { path: `${here}src/core-js-shared-store.js` } : undefined);
  },
};
await build({
  absWorkingDir: here,
  entryPoints: ['src/index.js'],
  bundle: true,
  format: 'iife',
  globalName: 'wardenWebApis',
  // A classic script that leaves no global behind (a top-level `var` would be one): the whole
  // bundle is wrapped in a function whose value, createWebApis, is the script's completion value.
  // SECURITY: strict mode for all of it — in sloppy functions `f.caller`/`arguments` let a script
  // that patched a built-in walk up into our frames and take their arguments (found in review: the
  // capability record handed to createWebApis). And nothing may be thrown out of the evaluation:
  // .NET evaluates this script, and ClearScript would inspect a value the script threw (a built-in it
  // patched can throw while the top level runs) outside every limit. Failures come back as a value.
  banner: { js: "(function () {\n'use strict';\ntry {" },
  footer: { js: 'return { __proto__: null, createWebApis: wardenWebApis.createWebApis };\n} catch (error) {\nreturn { __proto__: null, error };\n}\n})();' },
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2022',
  minify: true,
  // Class and function names are observable (DOMException.name, String(URL)): keep them.
  keepNames: true,
  legalComments: 'eof',
  charset: 'utf8',
  // The full encoding tables (multi-byte legacy decoders, ~300 KB) are left out: TextDecoder
  // supports UTF-8, UTF-16 and the single-byte encodings.
  alias: { '@exodus/bytes/encoding.js': './src/empty.js' },
  // Libraries that reach for a global TextEncoder/TextDecoder (whatwg-url) get ours, bound at build
  // time, never whatever a script has put on globalThis by then; and a SharedArrayBuffer stand-in
  // for the ones that read its prototype when they load (see the file).
  inject: ['./src/encoding-inject.js', './src/shared-array-buffer-inject.js'],
  plugins: [privateCoreJsStore],
  outfile: output,
  logLevel: 'warning',
});
