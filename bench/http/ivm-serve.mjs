// The peer of `warden serve` for bench/http/run.sh --peer: isolated-vm on Node 24 behind the same
// POST /v1/run contract (code, input, limits.timeoutMs, limits.memoryMb; 200 with
// {"status":"ok","result":...} or {"status":"error",...}), so that wrk measures both through HTTP.
//   node --no-node-snapshot bench/http/ivm-serve.mjs <port> [fresh|warm]
// fresh: a new Isolate and context per request (isolated-vm's recommended unit for untrusted code).
// warm:  a fresh context per request in one of N warm isolates (N = cores, round robin: one isolate
//        runs one script at a time, as one Warden worker does), isolated-vm's fast path.
// The input JSON text is parsed inside the isolate, as the benchmark runners do (peers/node/runner.mjs).
import http from 'node:http';
import os from 'node:os';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../.peers/node/', import.meta.url));
const ivm = require('isolated-vm');
const port = Number(process.argv[2] ?? 18098);
const warm = process.argv[3] === 'warm';
const pool = [];
let next = 0;

function isolateFor(memoryMb) {
  if (!warm) return new ivm.Isolate({ memoryLimit: memoryMb });
  const slot = next++ % os.availableParallelism();
  if (!pool[slot] || pool[slot].isDisposed) pool[slot] = new ivm.Isolate({ memoryLimit: memoryMb });
  return pool[slot];
}

async function run(request) {
  const timeoutMs = request.limits?.timeoutMs ?? 5000;
  const memoryMb = Math.max(8, request.limits?.memoryMb ?? 128);
  const source = (request.input === undefined ? '' : `globalThis.input = JSON.parse(${JSON.stringify(JSON.stringify(request.input))});\n`) + request.code;
  let isolate, context;
  try {
    isolate = isolateFor(memoryMb);
    context = await isolate.createContext();
    const value = await context.eval(source, { timeout: timeoutMs });
    return { status: 'ok', result: typeof value === 'string' ? value : JSON.stringify(value ?? null) };
  } catch (e) {
    return { status: 'error', error: { name: e?.name ?? 'Error', message: String(e?.message ?? e) } };
  } finally {
    try { context?.release(); } catch { /* disposed */ }
    if (!warm) try { isolate?.dispose(); } catch { /* disposed */ }
  }
}

http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/readyz') { res.end('ok'); return; }
  if (req.method !== 'POST' || req.url !== '/v1/run') { res.statusCode = 404; res.end(); return; }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    let body;
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { res.statusCode = 400; res.end('{}'); return; }
    const outcome = await run(body);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(outcome));
  });
}).listen(port, '127.0.0.1');
