// Warden playground: sends the form to POST /v1/run and shows the outcome.
// SECURITY: an outcome is written by the script that ran, i.e. by whoever wrote the code, and so is a problem's text.
// Everything from the server becomes DOM text (textContent, createElement): never markup. The page's CSP also
// requires Trusted Types with no policy, so the browser itself refuses any string given to an HTML-parsing sink.
'use strict';

const byId = (id) => document.getElementById(id);
const form = byId('run-form');
const code = byId('code');
const input = byId('input');
const engine = byId('engine');
const mode = byId('mode');
const timeout = byId('timeout');
const memory = byId('memory');
const fuel = byId('fuel');
const apiKey = byId('api-key');
const runButton = byId('run');
const busy = byId('busy');

const keyStorage = 'warden.playground.apiKey';
const examples = {
  script: [
    '// `input` is the parsed input JSON; the result is the last value (awaited if a promise).',
    'const names = input?.names ?? [];',
    'console.log(`greeting ${names.length} people`);',
    'names.map((name) => `Hello, ${name}!`);',
    '',
  ].join('\n'),
  module: [
    '// The default export: called with `input` if it is a function, then awaited.',
    'export default async function (input) {',
    "  console.info('running as a module');",
    "  return { sum: (input?.numbers ?? []).reduce((a, b) => a + b, 0) };",
    '}',
    '',
  ].join('\n'),
};
const exampleInputs = { script: '{ "names": ["Ada", "Grace"] }', module: '{ "numbers": [1, 2, 3] }' };

let config = { engines: [], defaultEngine: 'v8', apiKeyRequired: false, limits: {} };
let fuelEngines = new Set();

/** An element with a class and text: the only way outcome data reaches the page. */
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function setLimitField(field, placeholder, min, max) {
  field.placeholder = placeholder === undefined ? '' : `default ${placeholder}`;
  if (min !== undefined) field.min = String(min);
  if (max !== undefined) field.max = String(max);
}

async function loadConfig() {
  try {
    const response = await fetch('/playground/config.json', { headers: { Accept: 'application/json' } });
    if (response.ok) config = await response.json();
  } catch {
    // The defaults above still let the page run on v8.
  }
  if (config.engines.length === 0) config.engines = [{ name: config.defaultEngine, countsFuel: false }];
  fuelEngines = new Set(config.engines.filter((e) => e.countsFuel).map((e) => e.name));
  engine.replaceChildren(...config.engines.map((e) => {
    const option = element('option', '', e.countsFuel ? `${e.name} (counts fuel)` : e.name);
    option.value = e.name;
    option.selected = e.name === config.defaultEngine;
    return option;
  }));
  const limits = config.limits ?? {};
  setLimitField(timeout, limits.defaultTimeoutMs, 1, limits.maxTimeoutMs);
  setLimitField(memory, limits.defaultMemoryMb, limits.minMemoryMb, limits.maxMemoryMb);
  setLimitField(fuel, limits.defaultFuel ?? 'unlimited', 1, limits.maxFuel);
  byId('key-field').hidden = !config.apiKeyRequired;
  if (config.apiKeyRequired) apiKey.value = sessionStorage.getItem(keyStorage) ?? '';
  showFuel();
}

function showFuel() {
  byId('fuel-field').hidden = !fuelEngines.has(engine.value);
}

/** The request body. The input is sent exactly as typed (after checking it is JSON), so big numbers keep their digits. */
function requestBody() {
  const limits = {};
  const number = (field) => (field.value.trim() === '' ? undefined : Number(field.value));
  if (number(timeout) !== undefined) limits.timeoutMs = number(timeout);
  if (number(memory) !== undefined) limits.memoryMb = number(memory);
  if (fuelEngines.has(engine.value) && number(fuel) !== undefined) limits.fuel = number(fuel);
  const body = { code: code.value, module: mode.value === 'module', engine: engine.value };
  if (Object.keys(limits).length > 0) body.limits = limits;
  let json = JSON.stringify(body);
  const inputText = input.value.trim();
  if (inputText !== '') {
    JSON.parse(inputText); // throws SyntaxError: shown before anything is sent
    json = `${json.slice(0, -1)},"input":${inputText}}`;
  }
  return json;
}

function setStatus(text, kind) {
  const status = byId('status');
  status.textContent = text;
  status.className = `status status-${kind}`;
}

function clearOutcome() {
  byId('result').textContent = '—';
  byId('console').replaceChildren();
  byId('usage').replaceChildren();
  byId('error').replaceChildren();
  byId('error-part').hidden = true;
  byId('raw').textContent = '';
  byId('engine-used').textContent = '';
}

function showError(name, message, stack, note) {
  const box = byId('error');
  const headline = element('p', 'headline');
  if (name) headline.append(element('span', 'name', name), ': ');
  headline.append(String(message ?? ''));
  box.replaceChildren(headline);
  if (note) box.append(element('p', 'note', note));
  if (stack) box.append(element('pre', 'stack', stack));
  byId('error-part').hidden = false;
}

function formatBytes(bytes) {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function showUsage(usage) {
  const rows = [
    ['wall', `${usage.wallMs} ms`],
    ['cpu', `${usage.cpuMs} ms`],
    ['memory', formatBytes(usage.memoryBytes)],
  ];
  if (usage.fuel !== undefined) rows.push(['fuel', Number(usage.fuel).toLocaleString('en')]);
  if (usage.hostCalls !== undefined) rows.push(['host calls', `${usage.hostCalls} (${usage.hostMs} ms)`]);
  byId('usage').replaceChildren(...rows.map(([term, value]) => {
    const row = element('div');
    row.append(element('dt', '', term), element('dd', '', value));
    return row;
  }));
}

function showOutcome(outcome, text) {
  setStatus(String(outcome.status), /^[a-z_]+$/.test(outcome.status) ? outcome.status : 'http');
  byId('engine-used').textContent = outcome.engine ? `on ${outcome.engine}` : '';
  byId('result').textContent = outcome.result === null || outcome.result === undefined ? '—' : JSON.stringify(outcome.result, null, 2);
  byId('console').replaceChildren(...(outcome.console ?? []).map((entry) => {
    const line = element('li', `level-${/^[a-z]+$/.test(entry.level) ? entry.level : 'log'}`);
    line.append(element('span', 'level', entry.level), element('span', 'text', entry.text));
    return line;
  }));
  if (outcome.error) {
    const limit = outcome.error.limit ? `limit: ${outcome.error.limit}` : '';
    showError(outcome.error.name, outcome.error.message, outcome.error.stack, limit);
  }
  if (outcome.usage) showUsage(outcome.usage);
  byId('raw').textContent = text;
}

/** A refusal (problem+json, RFC 9457): the status code and its title; the detail and field as the error. */
function showProblem(response, text) {
  let problem = {};
  try {
    problem = JSON.parse(text);
  } catch {
    // not JSON: shown raw below
  }
  setStatus(`HTTP ${response.status}`, 'http');
  const field = problem.field ? `field: ${problem.field}` : '';
  showError(problem.title ?? response.statusText, problem.detail ?? text, '', field);
  if (response.status === 401 && !config.apiKeyRequired) byId('key-field').hidden = false;
  byId('raw').textContent = text;
}

async function run() {
  if (runButton.disabled) return;
  clearOutcome();
  let body;
  try {
    body = requestBody();
  } catch (e) {
    setStatus('not sent', 'http');
    showError('Input', `not valid JSON: ${e.message}`, '', 'Fix the input (or empty it) and run again.');
    return;
  }
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const key = apiKey.value.trim();
  if (key !== '') headers.Authorization = `Bearer ${key}`;
  runButton.disabled = true;
  busy.textContent = 'Running…';
  setStatus('running', 'running');
  const started = performance.now();
  let response;
  let text;
  try {
    response = await fetch('/v1/run', { method: 'POST', headers, body, credentials: 'omit', cache: 'no-store' });
    text = await response.text();
  } catch (e) {
    setStatus('no answer', 'http');
    showError('Network', e.message, '', 'The server did not answer; is it still running?');
    busy.textContent = '';
    return;
  } finally {
    runButton.disabled = false;
  }
  busy.textContent = `Answered in ${Math.round(performance.now() - started)} ms.`;
  let outcome = null;
  try {
    outcome = response.ok ? JSON.parse(text) : null;
  } catch {
    // not JSON: shown as a problem, raw
  }
  if (outcome && typeof outcome === 'object' && 'status' in outcome) showOutcome(outcome, text);
  else showProblem(response, text);
}

// Tab indents (two spaces) in the editors; Esc first lets the next Tab move on, so the keyboard is never trapped.
let tabLeaves = false;
function indentOnTab(event) {
  if (event.key === 'Escape') {
    tabLeaves = true;
    return;
  }
  if (event.key !== 'Tab' || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey || tabLeaves) {
    tabLeaves = false;
    return;
  }
  event.preventDefault();
  event.target.setRangeText('  ', event.target.selectionStart, event.target.selectionEnd, 'end');
}
for (const editor of [code, input]) {
  editor.addEventListener('keydown', indentOnTab);
  editor.addEventListener('blur', () => { tabLeaves = false; });
}

document.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    run();
  }
});
form.addEventListener('submit', (event) => {
  event.preventDefault();
  run();
});
engine.addEventListener('change', showFuel);
mode.addEventListener('change', () => {
  // Swap in the other mode's example only while the editor still holds an untouched example.
  if (Object.values(examples).includes(code.value)) {
    code.value = examples[mode.value];
    input.value = exampleInputs[mode.value];
  }
});
apiKey.addEventListener('input', () => {
  // The key lives in this tab's sessionStorage at most: never in the URL, never in localStorage.
  if (apiKey.value === '') sessionStorage.removeItem(keyStorage);
  else sessionStorage.setItem(keyStorage, apiKey.value);
});

code.value = examples.script;
input.value = exampleInputs.script;
loadConfig();
