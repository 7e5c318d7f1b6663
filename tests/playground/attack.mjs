// Hostile outcomes against the playground page, in headless Chromium: scripts whose console lines, error names,
// messages, stacks and results are markup, CSS, prototype-polluting JSON, the most output the server allows and a
// deeply nested result. The page must show them all as text, run no injected code, keep Object.prototype clean, stay
// responsive, and raise no page error or CSP violation.
// Usage: node attack.mjs SERVER_URL CHROMIUM_PATH   (PlaygroundBrowserAttackTests runs it, after `npm ci` here)
// Prints one JSON line: { ok, failures, timings }; exits 0 only when ok.
import { rm } from 'node:fs/promises';
import { launchChromium } from './launch.mjs';

const [serverUrl, executablePath = '/usr/bin/chromium'] = process.argv.slice(2);
const failures = [];
const problems = [];
const timings = {};
const check = (condition, what) => { if (!condition) failures.push(what); };

const { browser, profile } = await launchChromium(executablePath, 'warden-playground-attack-');
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warn') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on('dialog', async (dialog) => { problems.push(`dialog: ${dialog.message()}`); await dialog.dismiss(); });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });
  await page.goto(serverUrl, { waitUntil: 'networkidle0' });
  await page.waitForFunction(() => document.querySelectorAll('#engine option').length > 0);
  const elementsBefore = await page.evaluate(() => document.querySelectorAll('*').length);

  const markup = '<img src=x id=injected onerror=alert(1)><script id=injected>alert(2)</script>';
  const attacks = [
    ['error', `const e = new Error(${JSON.stringify(markup)}); e.name = ${JSON.stringify('<svg id=injected onload=alert(3)>')}; `
      + `e.stack = ${JSON.stringify('<iframe id=injected src=javascript:alert(4)>')}; throw e`],
    ['result', `JSON.parse(${JSON.stringify(JSON.stringify({ __proto__: null, html: markup }).replace('{', '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},'))})`],
    ['css', `console.log('</style><style>body{display:none}</style><link rel=stylesheet href=//evil.example/x.css>'); `
      + `console.error('<a id=injected href="javascript:alert(5)">click</a>'); 1`],
    ['console-over-limit', `for (let i = 0; i < 200000; i++) console.log('<b>' + 'x'.repeat(2000)); 1`],
    ['console-at-limit', `for (let i = 0; i < 9990; i++) console.log('<b>' + 'x'.repeat(90)); 1`],
    ['result-over-limit', `'<b>'.repeat(8 << 20)`],
    ['result-at-limit', `'x'.repeat(1000000)`],
    ['deep-result', `let a = []; for (let i = 0; i < 200000; i++) a = [a]; a`],
    ['wide-result', `Array.from({ length: 40000 }, (_, i) => ({ ['k' + i]: '<i>' + i }))`],
  ];
  for (const [name, code] of attacks) {
    await page.$eval('#code', (field, text) => { field.value = text; }, code);
    await page.$eval('#input', (field) => { field.value = ''; });
    timings[name] = -1;
    const started = Date.now();
    await page.$eval('#run', (button) => button.click());
    await page.waitForFunction(() => {
      const status = document.getElementById('status').textContent;
      return status !== 'running' && status !== 'not run yet' && !document.getElementById('run').disabled;
    }, { timeout: 90_000 });
    // Responsive: the page answers a trivial evaluation right after rendering the outcome.
    await page.evaluate(() => 1);
    timings[name] = Date.now() - started;
    const state = await page.evaluate(() => ({
      status: document.getElementById('status').textContent,
      injected: document.querySelectorAll('#injected, iframe, img, svg, script:not([src]), a[href^="javascript"]').length,
      styles: document.querySelectorAll('style, link[rel=stylesheet]').length,
      polluted: ({}).polluted,
      bodyShown: getComputedStyle(document.body).display !== 'none',
      text: document.body.textContent.length,
    }));
    check(state.injected === 0, `${name}: ${state.injected} injected element(s)`);
    check(state.styles === 1, `${name}: ${state.styles} stylesheets`);
    check(state.polluted === undefined, `${name}: Object.prototype polluted (${state.polluted})`);
    check(state.bodyShown, `${name}: the page was hidden`);
    check(timings[name] < 30_000, `${name}: took ${timings[name]} ms to show`);
    if (name === 'error') {
      const error = await page.$eval('#error', (e) => e.textContent);
      check(error.includes('<svg id=injected') && error.includes('<img src=x'), `error: shown as ${error.slice(0, 200)}`);
    }
    if (name === 'result') {
      const result = await page.$eval('#result', (e) => e.textContent);
      check(result.includes('"__proto__"') && result.includes('<img src=x'), `result: shown as ${result.slice(0, 200)}`);
    }
  }
  check(await page.evaluate(() => document.querySelectorAll('link[rel=stylesheet]')[0].getAttribute('href')) === '/playground/playground.css',
    'the stylesheet is not the page\'s own');
  check(elementsBefore > 0, 'the page had no elements');
  check(problems.length === 0, `browser problems: ${problems.slice(0, 5).join(' | ')}`);
} catch (e) {
  failures.push(`driver: ${e.message ?? e}; problems: ${problems.slice(0, 5).join(' | ')}`);
  try {
    const page = (await browser.pages()).at(-1);
    failures.push(`page state: ${await page.evaluate(() => `${document.getElementById('status').textContent} / run disabled ${document.getElementById('run').disabled} / ${document.getElementById('busy').textContent}`)}`);
  } catch (inner) {
    failures.push(`page unreadable: ${inner.message}`);
  }
} finally {
  await browser.close();
  await rm(profile, { recursive: true, force: true });
}
console.log(JSON.stringify({ ok: failures.length === 0, failures, timings }));
process.exit(failures.length === 0 ? 0 : 1);
