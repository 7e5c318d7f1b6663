// Runs cases.mjs in headless Chromium and writes results/chromium.json, which the Warden test suite
// compares against its own run (tests/Warden.Tests/WebApis/ConformanceTests.cs).
// Usage: node run-in-chromium.mjs [path-to-chromium]     (run-in-chromium.sh installs what it needs)
import { createServer } from 'node:http';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const here = fileURLToPath(new URL('.', import.meta.url));
const executablePath = process.argv[2] ?? '/usr/bin/chromium';
const files = new Set(['cases.mjs', 'harness.mjs', 'worker.mjs']);

// Serves only the three files, on loopback: a module worker needs an http(s) origin.
const server = createServer(async (request, response) => {
  const name = new URL(request.url, 'http://localhost').pathname.slice(1);
  if (name === '') {
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>warden conformance</title>');
  } else if (files.has(name)) {
    response.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(join(here, name)));
  } else {
    response.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}/`;

const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  // Root in CI containers cannot use Chromium's own sandbox; the page only runs our test files.
  args: ['--no-sandbox', '--disable-gpu'],
});
let run;
try {
  const page = await browser.newPage();
  await page.goto(origin);
  run = await page.evaluate(() => new Promise((resolve) => {
    const worker = new Worker('/worker.mjs', { type: 'module' });
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => resolve({ error: event.message ?? 'worker error' });
  }));
  run.browserVersion = await browser.version();
} finally {
  await browser.close();
  server.close();
}
if (run.error) {
  console.error('chromium: the cases did not run:', run.error);
  process.exit(1);
}
await mkdir(join(here, 'results'), { recursive: true });
await writeFile(join(here, 'results', 'chromium.json'),
  JSON.stringify({ userAgent: run.userAgent, browserVersion: run.browserVersion, results: run.results }, null, 1) + '\n');
const failed = run.results.filter((r) => !r.pass);
for (const f of failed) console.error(`FAIL ${f.name}: got ${f.actual}, expected ${f.expected}`);
console.log(`chromium (${run.browserVersion}): ${run.results.length - failed.length} passed, ${failed.length} failed; results/chromium.json written`);
process.exit(failed.length === 0 ? 0 : 1);
