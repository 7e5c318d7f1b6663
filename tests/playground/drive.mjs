// Drives the playground page of a running `warden serve` in headless Chromium, the way a person would: types a script
// and its input, presses Run, reads the outcome; then runs an endless loop under a small timeout with the keyboard and
// reads the limit error. Fails on any console error, page error, failed request or CSP violation.
// With API_KEY (a server with keys): first a run without the key must show the 401, then the key is typed and used.
// Usage: node drive.mjs SERVER_URL CHROMIUM_PATH OUTPUT_DIR [API_KEY]   (PlaygroundBrowserTests runs it, after `npm ci` here)
// Prints one JSON line: { ok, failures, screenshots, browserVersion }; exits 0 only when ok.
import { rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { launchChromium } from './launch.mjs';

const [serverUrl, executablePath = '/usr/bin/chromium', outputDir = '.', apiKey] = process.argv.slice(2);
if (!serverUrl) {
  console.error('usage: node drive.mjs SERVER_URL CHROMIUM_PATH OUTPUT_DIR');
  process.exit(64);
}
const failures = [];
const problems = []; // console errors, page errors, failed requests, CSP violations: each one fails the run
const screenshots = [];
const check = (condition, what) => { if (!condition) failures.push(what); };
// The one refusal the key check provokes on purpose (Chromium logs a failed load for it too).
let expected401 = 0;
let expected401Logs = 0;

await mkdir(outputDir, { recursive: true });
const { browser, profile } = await launchChromium(executablePath, 'warden-playground-chromium-');
let browserVersion = '';
try {
  browserVersion = await browser.version();
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  page.on('console', (message) => {
    if (expected401Logs > 0 && /status of 401/.test(message.text())) {
      expected401Logs--;
      return;
    }
    if (message.type() === 'error' || message.type() === 'warn') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() === 401 && expected401 > 0) expected401--;
    else if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  // CSP violations are also console errors; this records them with their directive, to say which one.
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });

  const response = await page.goto(serverUrl, { waitUntil: 'networkidle0' });
  check(response.status() === 200, `GET / answered ${response.status()}`);
  check((response.headers()['content-security-policy'] ?? '').includes("script-src 'self'"), 'the page has no strict CSP');
  await page.waitForFunction(() => document.querySelectorAll('#engine option').length > 0);
  const engines = await page.$$eval('#engine option', (options) => options.map((o) => o.value));
  check(engines.includes('v8') && engines.includes('quickjs'), `engines offered: ${engines.join(', ')}`);

  // 0. With keys: the key field is shown; without the key the run is refused (401, shown); the key typed is used, kept
  //    in the tab's sessionStorage and never in the URL, and is there again after a reload.
  const keyShown = !(await page.$eval('#key-field', (f) => f.hidden));
  check(keyShown === Boolean(apiKey), `the API key field is ${keyShown ? 'shown' : 'hidden'}`);
  if (apiKey) {
    expected401 = 1;
    expected401Logs = 1;
    await page.click('#run');
    const refused = await outcome(page);
    check(refused.status === 'HTTP 401' && /API key/.test(refused.error), `without the key: ${refused.status}, ${refused.error}`);
    await page.type('#api-key', apiKey);
    await page.click('#run');
    const keyed = await outcome(page);
    check(keyed.status === 'ok', `with the key: ${keyed.status}, ${keyed.error}`);
    check(!page.url().includes(apiKey), 'the key is in the URL');
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForFunction(() => document.querySelectorAll('#engine option').length > 0);
    check(await page.$eval('#api-key', (f) => f.value) === apiKey, 'the key was not kept for the tab');
    check(await page.evaluate(() => localStorage.length) === 0, 'something was kept in localStorage');
    check(expected401 === 0, 'the run without the key was not refused with 401');
  }

  // 1. A script with input, run with the button. Its console line looks like markup: it must stay text.
  await replaceText(page, '#code',
    "console.log('<img src=x id=injected>');\nconsole.warn('careful');\nconst n = input.n;\nn * 6");
  await replaceText(page, '#input', '{ "n": 7 }');
  await page.click('#run');
  const first = await outcome(page);
  check(first.status === 'ok', `first run: status ${first.status} (error: ${first.error})`);
  check(first.result === '42', `first run: result shown as ${JSON.stringify(first.result)}`);
  check(first.console.includes('log <img src=x id=injected>'), `first run: console shown as ${JSON.stringify(first.console)}`);
  check(first.console.includes('warn careful'), 'first run: the warn line is missing');
  check(first.injected === 0, 'first run: console text became an element');
  check(/wall/.test(first.usage) && /memory/.test(first.usage), `first run: usage shown as ${JSON.stringify(first.usage)}`);
  screenshots.push(await shoot(page, 'playground-ok.png'));

  // 2. An endless loop under a 300 ms timeout, run from the keyboard (Ctrl+Enter in the editor).
  await replaceText(page, '#code', 'while (true) {}');
  await replaceText(page, '#input', '');
  await replaceText(page, '#timeout', '300');
  await page.focus('#code');
  await page.keyboard.down('Control');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Control');
  const second = await outcome(page);
  check(second.status === 'timeout', `second run: status ${second.status}`);
  check(/limit: (wall|cpu)/.test(second.error), `second run: error shown as ${JSON.stringify(second.error)}`);
  check(second.result === '—', `second run: result shown as ${JSON.stringify(second.result)}`);
  screenshots.push(await shoot(page, 'playground-timeout.png'));

  // 3. quickjs: the fuel field appears, its budget is sent and the fuel used is shown.
  check(await page.$eval('#fuel-field', (f) => f.hidden), 'the fuel field is shown on v8');
  await page.select('#engine', 'quickjs');
  check(!(await page.$eval('#fuel-field', (f) => f.hidden)), 'the fuel field is hidden on quickjs');
  await replaceText(page, '#code', 'let s = 0;\nfor (let i = 0; i < 10000; i++) s += i;\ns');
  await replaceText(page, '#timeout', '');
  await replaceText(page, '#fuel', '50000000');
  await page.click('#run');
  const third = await outcome(page);
  check(third.status === 'ok' && third.result === '49995000', `quickjs run: ${third.status}, result ${third.result}, error ${third.error}`);
  check(/fuel/.test(third.usage), `quickjs run: usage shown as ${JSON.stringify(third.usage)}`);
  check(third.engine === 'on quickjs', `quickjs run: engine shown as ${JSON.stringify(third.engine)}`);

  // 4. Tab in the editor indents rather than leaving it.
  await replaceText(page, '#code', '');
  await page.focus('#code');
  await page.keyboard.press('Tab');
  const afterTab = await page.evaluate(() => [document.activeElement.id, document.getElementById('code').value]);
  check(afterTab[0] === 'code' && afterTab[1] === '  ', `Tab in the editor: focus ${afterTab[0]}, text ${JSON.stringify(afterTab[1])}`);

  // 4b. A small window (800x600): the page scrolls rather than squeezing its panels, nothing covers the Run button,
  //     and a real mouse click on it runs the script (squeezed, the outcome panel once lay over the button).
  await page.setViewport({ width: 800, height: 600 });
  await page.select('#engine', 'v8');
  await replaceText(page, '#code', '6 * 7 + 1000');
  const covered = await page.$eval('#run', (button) => {
    button.scrollIntoView({ block: 'center' });
    const box = button.getBoundingClientRect();
    const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    return !(hit === button || button.contains(hit));
  });
  check(!covered, 'at 800x600 another element covers the Run button');
  await page.click('#run');
  const small = await outcome(page);
  check(small.status === 'ok' && small.result === '1042', `800x600 run: ${small.status}, result ${small.result}`);
  screenshots.push(await shoot(page, 'playground-small.png'));
  await page.setViewport({ width: 1280, height: 800 });

  check(problems.length === 0, `browser problems: ${problems.join(' | ')}`);
  // 5. Last (its refusal is itself reported as a violation): the CSP's Trusted Types make innerHTML refuse strings.
  const sink = await page.evaluate(() => {
    try {
      document.createElement('div').innerHTML = '<b>x</b>';
      return 'assigned';
    } catch (e) {
      return e.name;
    }
  });
  check(sink === 'TypeError', `innerHTML with a string was ${sink}, not refused by Trusted Types`);
} catch (e) {
  failures.push(`driver: ${e.stack ?? e}`);
} finally {
  await browser.close();
  await rm(profile, { recursive: true, force: true });
}
console.log(JSON.stringify({ ok: failures.length === 0, failures, screenshots, browserVersion }));
process.exit(failures.length === 0 ? 0 : 1);

/** Replaces a field's text: selects it all, then deletes and types as a person would (an empty text just deletes). */
async function replaceText(page, selector, text) {
  await page.focus(selector);
  await page.$eval(selector, (field) => field.select());
  await page.keyboard.press('Backspace');
  // Typed line by line: Enter is a key press, and the editor's own keys (Tab) are not in these texts.
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) await page.keyboard.press('Enter');
    if (lines[i]) await page.keyboard.type(lines[i]);
  }
}

/** Waits for a run to end, then reads what the page shows. */
async function outcome(page) {
  await page.waitForFunction(() => {
    const status = document.getElementById('status').textContent;
    return status !== 'running' && status !== 'not run yet' && !document.getElementById('run').disabled;
  }, { timeout: 60_000 });
  return page.evaluate(() => ({
    status: document.getElementById('status').textContent,
    result: document.getElementById('result').textContent,
    console: [...document.querySelectorAll('#console li')]
      .map((li) => `${li.querySelector('.level').textContent} ${li.querySelector('.text').textContent}`),
    injected: document.querySelectorAll('#injected').length,
    error: document.getElementById('error-part').hidden ? '' : document.getElementById('error').textContent,
    usage: document.getElementById('usage').textContent,
    engine: document.getElementById('engine-used').textContent,
  }));
}

async function shoot(page, name) {
  const path = join(outputDir, apiKey ? name.replace('playground-', 'playground-keyed-') : name);
  await page.screenshot({ path, fullPage: false });
  return path;
}
