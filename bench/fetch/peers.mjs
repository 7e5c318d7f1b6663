// The fetch benchmark's peers (bench/fetch/run.sh): N sequential fetches of URL, each body read as text, three
// rounds; prints one JSON line {system, count, perFetchMs: [round medians...]}.
//   node --no-node-snapshot peers.mjs native|isolated-vm URL N
// native:      Node's own fetch (undici), no sandbox: the floor of a script's fetch in Node.
// isolated-vm: a script in a fresh Isolate awaits a host function (an ivm.Reference to an async function that
//              uses Node's fetch and copies {status, text} back), the way isolated-vm users grant fetch today
//              (isolated-vm has none of its own).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../.peers/node/', import.meta.url));
const [system, url, countText] = process.argv.slice(2);
const count = Number(countText);

async function hostFetch(target) {
  const res = await fetch(target);
  return { status: res.status, text: await res.text() };
}

async function round() {
  if (system === 'native') {
    const start = performance.now();
    for (let i = 0; i < count; i++) await hostFetch(url);
    return (performance.now() - start) / count;
  }
  const ivm = require('isolated-vm');
  const isolate = new ivm.Isolate({ memoryLimit: 128 });
  const context = await isolate.createContext();
  await context.global.set('hostFetch', new ivm.Reference(hostFetch));
  const start = performance.now();
  const total = await context.eval(`(async () => {
    let bytes = 0;
    for (let i = 0; i < ${count}; i++) {
      const res = await hostFetch.apply(undefined, [${JSON.stringify(url)}], { result: { promise: true, copy: true } });
      bytes += res.text.length;
    }
    return bytes;
  })()`, { promise: true, timeout: 600_000 });
  const perFetch = (performance.now() - start) / count;
  if (typeof total !== 'number' || total <= 0) throw new Error('no bytes fetched');
  isolate.dispose();
  return perFetch;
}

const rounds = [];
await round(); // warm-up: connections, JIT
for (let r = 0; r < 3; r++) rounds.push(await round());
console.log(JSON.stringify({ system, count, perFetchMs: rounds }));
