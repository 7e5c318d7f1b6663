// Bundles Warden's preludes (V8's and QuickJS's) and the V8 built-in guards (src/Warden.Worker/Prelude,
// Engines/V8, Engines/QuickJs) into the three classic scripts the worker embeds. Run by Warden.Worker.csproj before every build whose
// inputs changed: node build-prelude.mjs OUTPUT_DIR (writes prelude.js, builtin-guards.js and prelude-quickjs.js).
//
// SECURITY: the prelude runs before user code and captures the originals that user code may later
// replace, so the bundles must add nothing a script could reach or redirect:
//  - each module is bundled as ESM (scope-hoisted: all modules share one scope, with no module
//    registry, no namespace objects and no helper functions), then wrapped here in one strict
//    function expression, so that no binding becomes a global (a top-level `var` in a classic
//    script would) and sloppy-mode `caller`/`arguments` cannot expose our frames;
//  - names are kept as written (no minification, so no `keepNames` helper either): function and
//    method names are observable (console.log.name, the guards' wrappers);
//  - the output is checked below: no esbuild helper (`__name`, `__export`, ... would be looked up
//    at run time), no import or export statement left, exactly the expected export.
// The result is still one script, which V8 compiles once per process and then loads from its code
// cache (PreparedIsolate).
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const output = process.argv[2];
if (!output) {
  console.error('usage: node build-prelude.mjs OUTPUT_DIR');
  process.exit(64);
}
const worker = fileURLToPath(new URL('..', import.meta.url));

async function bundle(entry) {
  const result = await build({
    absWorkingDir: worker,
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    minify: false,
    keepNames: false,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

function fail(message) {
  console.error(`build-prelude: ${message}`);
  process.exit(1);
}

// The checks every bundle must pass (see SECURITY above).
function check(name, code) {
  const helper = /^\s*(?:var|let|const|function)\s+(__\w+)/m.exec(code);
  if (helper) fail(`${name}: esbuild added the helper ${helper[1]}`);
  const statement = /^\s*(?:import\s*[\w{*'"]|export\s)/m.exec(code);
  if (statement) fail(`${name}: a module statement is left: ${statement[0].trim()}`);
}

// A prelude: its completion value is the factory (the entry's default export).
async function factoryScript(name, entry) {
  const code = await bundle(entry);
  const exportClause = /\nexport\s*\{\s*([A-Za-z_$][\w$]*) as default\s*\};\s*$/.exec(code);
  if (!exportClause) fail(`${name}: expected exactly one default export at the end of the bundle`);
  const body = code.slice(0, exportClause.index) + '\n';
  check(name, body);
  return `(function () {\n'use strict';\n${body}return ${exportClause[1]};\n})();\n`;
}
const prelude = await factoryScript('prelude', 'Engines/V8/prelude-v8.js');
// QuickJS's prelude: the same shape, its own engine part (Engines/QuickJs).
const quickJsPrelude = await factoryScript('prelude-quickjs', 'Engines/QuickJs/prelude-quickjs.js');

// The guards: evaluating the script installs them; it exports nothing.
const guardsBody = await bundle('Engines/V8/builtin-guards.js');
check('builtin-guards', guardsBody);
const guards = `(function () {\n'use strict';\n${guardsBody}})();\n`;

mkdirSync(output, { recursive: true });
writeFileSync(join(output, 'prelude.js'), prelude);
writeFileSync(join(output, 'builtin-guards.js'), guards);
writeFileSync(join(output, 'prelude-quickjs.js'), quickJsPrelude);
