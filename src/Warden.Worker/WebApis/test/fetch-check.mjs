// Dev-only check of src/fetch.js (not part of the build): node test/fetch-check.mjs
// Loads fetch.js with Node's own URL, Blob, AbortSignal, ... and a fake host `send` (a routing table),
// compares Headers/Request/Response with Node's native ones (undici, a spec implementation) where
// the two specs' readings agree, and checks fetch's frames and redirect rules directly.
// With WARDEN_BUNDLE=/tmp/bundle.js (the output of `node build.mjs /tmp/bundle.js`), fetch.js gets
// Warden's own URL (whatwg-url), Blob, AbortSignal, DOMException and encoders from that bundle instead.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runInThisContext } from 'node:vm';
import { createFetchApi, encodeBase64 as toBase64, decodeBase64 as fromBase64 } from '../src/fetch.js';

const nodeWeb = { URL, Blob, AbortController, AbortSignal, DOMException, TextEncoder, TextDecoder, URLSearchParams };
let web = nodeWeb;
if (process.env.WARDEN_BUNDLE) {
  // The libraries probe for native versions (and Node's Buffer): hide Node's while they load, as
  // an isolate has none.
  const hidden = ['TextEncoder', 'TextDecoder', 'DOMException', 'structuredClone', 'atob', 'btoa', 'Buffer', 'AbortController', 'AbortSignal', 'Blob'];
  const saved = hidden.map((name) => Reflect.getOwnPropertyDescriptor(globalThis, name));
  for (const name of hidden) delete globalThis[name];
  try {
    const { createWebApis, error } = runInThisContext(readFileSync(process.env.WARDEN_BUNDLE, 'utf8'));
    if (error) throw error;
    const apis = createWebApis({ reportError: (e) => { throw e; }, setTimeout: (f, ms) => setTimeout(f, ms),
      randomBytes: () => { throw new Error('unused'); }, now: () => performance.now(), timeOrigin: () => Date.now(), userAgent: 'Warden/check' });
    web = {};
    for (const name of Object.keys(nodeWeb)) web[name] = apis[name]();
  } finally {
    hidden.forEach((name, i) => saved[i] && Reflect.defineProperty(globalThis, name, saved[i]));
  }
  assert.notEqual(web.URL, URL);
}

const frames = [];
const routes = new Map();
const answer = (status, headers = [], body = '', statusText = '') =>
  ({ status, statusText, headers, body: Buffer.from(body).toString('base64') });
function send(frame) {
  frames.push(frame);
  const route = routes.get(frame.url);
  if (!route) return Promise.reject(new TypeError('Failed to fetch'));
  return Promise.resolve().then(() => route(frame));
}
const { AbortController: _, ...deps } = web;
const ours = { ...createFetchApi({ ...deps, send }), Blob: web.Blob, AbortController: web.AbortController,
  AbortSignal: web.AbortSignal, URLSearchParams: web.URLSearchParams };
const native = { Headers, Request, Response, Blob, AbortController, AbortSignal, URLSearchParams };
const { fetch } = ours;

let passed = 0;
const failures = [];
async function check(name, fn) {
  try {
    await fn();
    passed++;
  } catch (error) {
    failures.push(`${name}: ${error && error.stack}`);
  }
}

// Runs fn against both implementations; values (after JSON round-trip) or error types must match.
async function outcome(api, fn) {
  try {
    return { value: JSON.parse(JSON.stringify(await fn(api)) ?? 'null') };
  } catch (error) {
    if (process.env.VERBOSE) console.log(api === ours ? 'ours:' : 'native:', error?.message);
    return { error: error?.constructor?.name ?? String(error) };
  }
}
function same(name, fn) {
  return check(name, async () => assert.deepEqual(await outcome(ours, fn), await outcome(native, fn)));
}

// ---- Headers, against Node ----
await same('headers: order, combination, set-cookie', ({ Headers }) => {
  const h = new Headers([['b', '2'], ['a', '1'], ['A', '3'], ['set-cookie', 'x=1'], ['Set-Cookie', 'y=2'], ['c', ' \t sp \r\n']]);
  return { all: [...h], keys: [...h.keys()], values: [...h.values()], a: h.get('A'), none: h.get('zz'),
    cookies: h.getSetCookie(), cookie: h.get('set-cookie'), has: [h.has('B'), h.has('d')] };
});
await same('headers: record and Headers init', ({ Headers }) => {
  const a = new Headers({ 'Content-Type': 'text/plain', xa: 'y', [Symbol('s')]: 'ignored' });
  const b = new Headers(a);
  b.append('xa', 'z');
  return { a: [...a], b: [...b] };
});
await same('headers: set and delete', ({ Headers }) => {
  const h = new Headers([['x', '1'], ['y', '2'], ['X', '3']]);
  h.set('X', '9');
  h.delete('y');
  h.set('new', ' v ');
  const seen = [];
  h.forEach(function (value, key, target) { seen.push([key, value, target === h, this.tag]); }, { tag: 't' });
  return { list: [...h], seen };
});
for (const [label, fn] of [
  ['bad name', (H) => new H().append('a b', 'x')],
  ['empty name', (H) => new H().append('', 'x')],
  ['LF in value', (H) => new H().append('a', 'x\ny')],
  ['NUL in value', (H) => new H().set('a', 'x\0y')],
  ['non-Latin-1 value', (H) => new H().append('a', '\u0100')],
  ['pair of three', (H) => new H([['a', 'b', 'c']])],
  ['null init', (H) => new H(null)],
  ['non-iterable pair', (H) => new H([1])],
  ['get bad name', (H) => new H().get('a:b')],
  ['missing argument', (H) => new H().append('a')],
]) await same(`headers: ${label}`, ({ Headers }) => fn(Headers));
await same('headers: Latin-1 value kept', ({ Headers }) => new Headers({ a: '\xe9' }).get('a'));
await same('headers: immutable on Response.error()', ({ Response }) => Response.error().headers.append('a', 'b'));
await same('headers: iterator shape', ({ Headers }) => {
  const it = new Headers({ a: '1' })[Symbol.iterator]();
  return [Object.prototype.toString.call(it), typeof it[Symbol.iterator], it.next(), it.next()];
});
await same('headers: iteration sees changes made during it', ({ Headers }) => {
  const h = new Headers({ a: '1', c: '3' });
  const seen = [];
  for (const [name] of h) {
    seen.push(name);
    if (name === 'a') h.append('b', '2');
  }
  return seen;
});
await check('headers: guards (request drops forbidden silently; script Responses keep Set-Cookie)', () => {
  const r = new ours.Request('https://a.test/', { headers: { Cookie: 'a', 'Sec-X': '1', 'X-Ok': '1', 'X-HTTP-Method': ' track ' } });
  r.headers.append('Host', 'x');
  r.headers.set('Proxy-Authorization', 'x');
  r.headers.append('X-HTTP-Method-Override', 'POST');
  assert.deepEqual([...r.headers], [['x-http-method-override', 'POST'], ['x-ok', '1']]);
  assert.equal(new ours.Response('', { headers: { 'Set-Cookie': 'a=1' } }).headers.get('set-cookie'), 'a=1');
  assert.equal(r.clone().headers.has('cookie'), false);
  r.clone().headers.append('cookie', 'x'); // the clone keeps the request guard: silently dropped
  const c = r.clone();
  c.headers.append('Cookie', 'x');
  assert.equal(c.headers.has('cookie'), false);
  assert.throws(() => ours.Response.redirect('https://a.test/').headers.set('a', 'b'), TypeError);
});
await check('request: referrer', () => {
  const R = ours.Request;
  assert.equal(new R('https://a.test/').referrer, 'about:client');
  assert.equal(new R('https://a.test/', { referrer: '' }).referrer, '');
  assert.equal(new R('https://a.test/', { referrer: 'https://b.test/x' }).referrer, 'about:client');
  assert.throws(() => new R('https://a.test/', { referrer: 'not a url' }), TypeError);
});
await check('globals replaced after creation are not used', async () => {
  const saved = { URL: globalThis.URL, TextEncoder: globalThis.TextEncoder, Blob: globalThis.Blob };
  routes.set('https://a.test/g', (f) => answer(200, [], `${f.body}`));
  try {
    for (const name of Object.keys(saved)) globalThis[name] = function () { throw new Error(`global ${name} used`); };
    const r = await fetch('https://a.test/g#x', { method: 'POST', body: 'é' });
    assert.equal(await r.text(), Buffer.from('é').toString('base64'));
    const blob = await (await fetch('https://a.test/g', { method: 'POST', body: 'x' })).blob();
    assert.equal(await blob.text(), 'eA==');
  } finally {
    Object.assign(globalThis, saved);
  }
});
await same('enumerable members (no body: there are no streams here)', ({ Headers, Request, Response }) =>
  [Headers.prototype, Request.prototype, Response.prototype, Response]
    .map((o) => Object.keys(o).filter((k) => k !== 'body' && k !== 'attribute').sort()));

// ---- Request, against Node ----
const requestProps = (r) => ({ method: r.method, url: r.url, mode: r.mode, credentials: r.credentials, cache: r.cache,
  redirect: r.redirect, referrerPolicy: r.referrerPolicy, integrity: r.integrity, keepalive: r.keepalive,
  destination: r.destination, bodyUsed: r.bodyUsed, headers: [...r.headers], tag: Object.prototype.toString.call(r) });
await same('request: defaults', ({ Request }) => requestProps(new Request('https://a.test/p?q=1#frag')));
await same('request: init members', ({ Request }) => requestProps(new Request('https://a.test/', {
  method: 'post', body: 'x', mode: 'same-origin', credentials: 'include', cache: 'no-store', redirect: 'manual',
  referrerPolicy: 'no-referrer', integrity: 'sha256-x', keepalive: true, headers: { 'X-A': '1' } })));
await same('request: method normalisation', ({ Request }) =>
  ['get', 'Delete', 'patch', 'options', 'PoSt', 'custom'].map((m) => new Request('https://a.test/', { method: m }).method));
for (const [label, fn] of [
  ['relative URL', (R) => new R('/relative')],
  ['credentials in URL', (R) => new R('https://u:p@a.test/')],
  ['TRACE', (R) => new R('https://a.test/', { method: 'TRACE' })],
  ['connect', (R) => new R('https://a.test/', { method: 'connect' })],
  ['method not a token', (R) => new R('https://a.test/', { method: 'GET /x HTTP/1.1' })],
  ['GET with body', (R) => new R('https://a.test/', { body: 'x' })],
  ['HEAD with body', (R) => new R('https://a.test/', { method: 'HEAD', body: 'x' })],
  ['navigate mode', (R) => new R('https://a.test/', { mode: 'navigate' })],
  ['bad enum', (R) => new R('https://a.test/', { redirect: 'sometimes' })],
  ['only-if-cached with cors', (R) => new R('https://a.test/', { cache: 'only-if-cached' })],
  ['no-cors PUT', (R) => new R('https://a.test/', { mode: 'no-cors', method: 'PUT' })],
  ['bad signal', (R) => new R('https://a.test/', { signal: {} })],
  ['no argument', (R) => new R()],
]) await same(`request: ${label}`, ({ Request }) => fn(Request));
await same('request: body content types', async ({ Request, URLSearchParams, Blob }) => {
  const post = (body) => new Request('https://a.test/', { method: 'POST', body });
  return {
    text: post('é').headers.get('content-type'),
    form: post(new URLSearchParams({ a: '1 2', b: 'é' })).headers.get('content-type'),
    formText: await post(new URLSearchParams({ a: '1 2' })).text(),
    blob: post(new Blob(['x'], { type: 'Text/Plain' })).headers.get('content-type'),
    blobText: await post(new Blob(['bl', 'ob'])).text(),
    buffer: post(new Uint8Array([1, 2]).buffer).headers.get('content-type'),
    view: [...await post(new DataView(new Uint8Array([5, 6, 7]).buffer, 1)).bytes()],
    explicit: post('x').headers.get('content-type') && new Request('https://a.test/', { method: 'POST', body: 'x', headers: { 'content-type': 'a/b' } }).headers.get('content-type'),
  };
});
await same('request: from a Request takes its body', async ({ Request }) => {
  const a = new Request('https://a.test/', { method: 'POST', body: 'payload', headers: { x: '1' } });
  const b = new Request(a, { headers: { y: '2' } });
  const result = { aUsed: a.bodyUsed, b: requestProps(b), text: await b.text(), bUsed: b.bodyUsed };
  try { new Request(a); } catch (e) { result.again = e.constructor.name; }
  return result;
});
await same('request: clone and reading twice', async ({ Request }) => {
  const a = new Request('https://a.test/', { method: 'PUT', body: 'abc', headers: { x: '1' } });
  const c = a.clone();
  c.headers.set('x', '2');
  const first = await a.text();
  let second;
  try { await a.text(); } catch (e) { second = e.constructor.name; }
  let cloneAfter;
  try { a.clone(); } catch (e) { cloneAfter = e.constructor.name; }
  return { first, second, cloneAfter, clone: await c.text(), headers: [...a.headers, ...c.headers] };
});
await same('request: signal follows', async ({ Request, AbortController }) => {
  const controller = new AbortController();
  const r = new Request('https://a.test/', { signal: controller.signal });
  const clone = r.clone();
  const before = r.signal.aborted;
  const reason = new Error('why');
  controller.abort(reason);
  return [before, r.signal.aborted, r.signal.reason === reason, clone.signal.aborted, r.signal === r.signal,
    new Request('https://a.test/').signal.aborted];
});

// ---- Response, against Node ----
const responseProps = (r) => ({ type: r.type, url: r.url, redirected: r.redirected, status: r.status, ok: r.ok,
  statusText: r.statusText, headers: [...r.headers], bodyUsed: r.bodyUsed, tag: Object.prototype.toString.call(r) });
await same('response: defaults', ({ Response }) => responseProps(new Response('x')));
await same('response: init', ({ Response }) => responseProps(new Response(null, { status: 404, statusText: 'Nope', headers: [['a', '1']] })));
await same('response: status wraps as unsigned short', ({ Response }) => new Response(null, { status: 65736 }).status);
for (const [label, fn] of [
  ['status 199', (R) => new R('', { status: 199 })],
  ['status 600', (R) => new R('', { status: 600 })],
  ['statusText with LF', (R) => new R('', { statusText: 'a\nb' })],
  ['204 with body', (R) => new R('x', { status: 204 })],
  ['redirect bad status', (R) => R.redirect('https://a.test/', 200)],
  ['redirect relative', (R) => R.redirect('/x')],
  ['json of undefined', (R) => R.json(undefined)],
]) await same(`response: ${label}`, ({ Response }) => fn(Response));
await same('response: 204 with null body', ({ Response }) => responseProps(new Response(null, { status: 204 })));
await same('response: error, redirect, json', async ({ Response }) => ({
  error: responseProps(Response.error()),
  redirect: responseProps(Response.redirect('https://a.test/x y', 301)),
  json: responseProps(Response.json({ a: [1, 'é'] }, { status: 201, headers: { x: '1' } })),
  jsonBody: await Response.json({ a: 1 }).json(),
}));
await same('response: body mixin', async ({ Response }) => {
  const r = (body, init) => new Response(body, init);
  const blob = await r('hé', { headers: { 'content-type': 'Text/Plain;Charset=UTF-8' } }).blob();
  return {
    text: await r(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0xff])).text(), // BOM stripped, bad byte → U+FFFD
    json: await r('{"a":[1,2]}').json(),
    arrayBuffer: [...new Uint8Array(await r('ab').arrayBuffer())],
    bytes: [...await r('ab').bytes()],
    blob: [blob.size, blob.type, await blob.text()],
    badJson: await r('{').json().then(() => 'resolved', (e) => e.constructor.name),
    nullTwice: [await r(null).text(), await r(null).text()],
  };
});
await same('response: used, clone', async ({ Response }) => {
  const a = new Response('body');
  const b = a.clone();
  const used = [a.bodyUsed];
  await a.text();
  used.push(a.bodyUsed, b.bodyUsed);
  let again;
  try { await a.arrayBuffer(); } catch (e) { again = e.constructor.name; }
  let clone;
  try { a.clone(); } catch (e) { clone = e.constructor.name; }
  return { used, again, clone, b: await b.text() };
});

// ---- fetch, against the fake host ----
const H = (frame) => Object.fromEntries(frame.headers.map(([n, v]) => [n.toLowerCase(), v]));
const b64 = (text) => Buffer.from(text).toString('base64');
const last = () => frames[frames.length - 1];

await check('fetch: frame shape, fragment, Accept, forbidden headers', async () => {
  routes.set('https://a.test/p?q=1', () => answer(200, [['content-type', 'text/plain'], ['x-a', '1'], ['x-a', '2']], 'hi', 'OK'));
  frames.length = 0;
  const r = await fetch('https://a.test/p?q=1#frag', { headers: [['X-Ok', 'yes'], ['Cookie', 'c=1'], ['Host', 'evil'],
    ['Proxy-Authorization', 'x'], ['Sec-Fetch-Mode', 'x'], ['Connection', 'close'], ['Content-Length', '5'],
    ['X-HTTP-Method-Override', 'GET, trace'], ['X-Method-Override', 'PATCH'], ['Accept-Encoding', 'br']] });
  assert.equal(frames.length, 1);
  const frame = frames[0];
  assert.deepEqual(Object.keys(frame).sort(), ['body', 'headers', 'method', 'redirect', 'url']);
  assert.deepEqual(frame, { url: 'https://a.test/p?q=1', method: 'GET', body: null, redirect: 'follow',
    headers: [['X-Ok', 'yes'], ['X-Method-Override', 'PATCH'], ['Accept', '*/*']] });
  assert.deepEqual(responseProps(r), { type: 'basic', url: 'https://a.test/p?q=1', redirected: false, status: 200, ok: true,
    statusText: 'OK', headers: [['content-type', 'text/plain'], ['x-a', '1, 2']], bodyUsed: false, tag: '[object Response]' });
  assert.throws(() => r.headers.set('x', '1'), TypeError);
  assert.equal(await r.text(), 'hi');
  assert.equal(r.bodyUsed, true);
});
await check('fetch: POST body, own Accept kept, Request input used up', async () => {
  routes.set('https://a.test/post', (f) => answer(201, [], Buffer.from(f.body, 'base64').toString().toUpperCase()));
  const req = new ours.Request('https://a.test/post', { method: 'POST', body: 'abc', headers: { accept: 'x/y' } });
  const r = await fetch(req);
  assert.equal(req.bodyUsed, true);
  assert.deepEqual(last(), { url: 'https://a.test/post', method: 'POST', body: b64('abc'), redirect: 'follow',
    headers: [['accept', 'x/y'], ['Content-Type', 'text/plain;charset=UTF-8']] });
  assert.equal(await r.text(), 'ABC');
  await assert.rejects(fetch(req), TypeError);
});
await check('fetch: schemes and bad input', async () => {
  const before = frames.length;
  for (const url of ['ftp://a.test/', 'data:,x', 'file:///etc/passwd', 'blob:https://a.test/x', 'about:blank']) {
    await assert.rejects(fetch(url), (e) => e instanceof TypeError && e.message === 'Failed to fetch', url);
  }
  await assert.rejects(fetch('/relative'), TypeError);
  await assert.rejects(fetch('https://u:p@a.test/'), TypeError);
  await assert.rejects(fetch('https://a.test/', { method: 'TRACE' }), TypeError);
  await assert.rejects(fetch(), TypeError);
  assert.equal(frames.length, before);
});
await check('fetch: errors from send propagate unchanged', async () => {
  const limit = new RangeError('MaxFetchesPerExecution');
  routes.set('https://a.test/limit', () => { throw limit; });
  await assert.rejects(fetch('https://a.test/limit'), (e) => e === limit);
  await assert.rejects(fetch('https://not-routed.test/'), (e) => e instanceof TypeError);
  routes.set('https://a.test/garbage', () => ({ status: 200, statusText: '', headers: [['a', 'b']], body: '!!' }));
  await assert.rejects(fetch('https://a.test/garbage'), TypeError);
  routes.set('https://a.test/badheader', () => ({ status: 200, statusText: '', headers: [['a', 'b\r\nc: d']], body: '' }));
  await assert.rejects(fetch('https://a.test/badheader'), TypeError);
});

function chain(prefix, hops, finalOrigin = prefix) {
  for (let i = 0; i < hops; i++) routes.set(`${prefix}/r${i}`, () => answer(302, [['location', `/r${i + 1}`]]));
  routes.set(`${finalOrigin}/r${hops}`, () => answer(200, [], 'end'));
}
await check('fetch: 20 redirects followed, 21 refused', async () => {
  chain('https://c.test', 20);
  frames.length = 0;
  const r = await fetch('https://c.test/r0');
  assert.equal(frames.length, 21);
  assert.equal(r.url, 'https://c.test/r20');
  assert.equal(r.redirected, true);
  assert.equal(await r.text(), 'end');
  chain('https://d.test', 21);
  frames.length = 0;
  await assert.rejects(fetch('https://d.test/r0'), TypeError);
  assert.equal(frames.length, 21);
});
await check('fetch: 303 POST → GET without body or Content-*', async () => {
  routes.set('https://a.test/303', () => answer(303, [['location', 'https://a.test/after#x']]));
  routes.set('https://a.test/after', (f) => answer(200, [], `${f.method} ${f.body}`));
  frames.length = 0;
  const r = await fetch('https://a.test/303', { method: 'POST', body: 'data',
    headers: { 'Content-Language': 'en', 'Content-Disposition': 'x', 'X-Keep': '1' } });
  assert.equal(await r.text(), 'GET null');
  assert.equal(r.url, 'https://a.test/after');
  assert.deepEqual(frames[1].headers, [['Content-Disposition', 'x'], ['X-Keep', '1'], ['Accept', '*/*']]);
  // 303 keeps HEAD; 301/302 turn only POST into GET.
  routes.set('https://a.test/301', () => answer(301, [['location', '/after']]));
  for (const [status, method, body, expected] of [[303, 'HEAD', undefined, 'HEAD'], [301, 'POST', 'b', 'GET'],
    [301, 'PUT', 'b', 'PUT'], [303, 'PUT', 'b', 'GET'], [303, 'DELETE', undefined, 'GET']]) {
    frames.length = 0;
    await fetch(`https://a.test/${status}`, { method, body });
    assert.equal(frames[1].method, expected, `${status} ${method}`);
    assert.equal(frames[1].body, expected === 'PUT' ? b64('b') : null);
  }
});
await check('fetch: 307/308 keep method, body and Content-Type', async () => {
  for (const status of [307, 308]) {
    routes.set(`https://a.test/${status}`, () => answer(status, [['location', 'https://b.test/in']]));
    routes.set('https://b.test/in', (f) => answer(200, [], `${f.method} ${Buffer.from(f.body, 'base64')}`));
    frames.length = 0;
    const r = await fetch(`https://a.test/${status}`, { method: 'POST', body: 'keep' });
    assert.equal(await r.text(), 'POST keep');
    assert.deepEqual(frames[1].headers, frames[0].headers);
  }
});
await check('fetch: cross-origin hop drops Authorization, same-origin keeps it', async () => {
  routes.set('https://a.test/same', () => answer(302, [['location', '/after']]));
  routes.set('https://a.test/cross', () => answer(302, [['location', 'http://a.test/after']])); // scheme differs
  routes.set('http://a.test/after', () => answer(200));
  for (const [path, kept] of [['same', true], ['cross', false]]) {
    frames.length = 0;
    await fetch(`https://a.test/${path}`, { headers: { Authorization: 'Bearer t', 'X-Other': '1' } });
    assert.equal(H(frames[0]).authorization, 'Bearer t');
    assert.equal(H(frames[1]).authorization, kept ? 'Bearer t' : undefined, path);
    assert.equal(H(frames[1])['x-other'], '1');
  }
});
await check('fetch: redirect modes and bad Location', async () => {
  routes.set('https://a.test/to-b', () => answer(302, [['location', 'https://b.test/x']], 'moved'));
  frames.length = 0;
  const manual = await fetch('https://a.test/to-b', { redirect: 'manual' });
  assert.equal(frames.length, 1);
  assert.equal(frames[0].redirect, 'manual');
  assert.deepEqual([manual.status, manual.headers.get('location'), manual.redirected, manual.url, manual.type],
    [302, 'https://b.test/x', false, 'https://a.test/to-b', 'basic']);
  frames.length = 0;
  await assert.rejects(fetch('https://a.test/to-b', { redirect: 'error' }), TypeError);
  assert.equal(frames.length, 1);
  routes.set('https://a.test/no-location', () => answer(302, [], 'stay'));
  assert.equal(await (await fetch('https://a.test/no-location')).text(), 'stay');
  for (const location of ['ftp://b.test/', 'javascript:alert(1)', 'data:,x', 'https://u:p@b.test/', 'http://[bad/']) {
    routes.set('https://a.test/bad', () => answer(301, [['location', location]]));
    frames.length = 0;
    await assert.rejects(fetch('https://a.test/bad'), TypeError, location);
    assert.equal(frames.length, 1);
  }
  routes.set('https://a.test/two', () => answer(301, [['location', '/a'], ['location', '/b']]));
  await assert.rejects(fetch('https://a.test/two'), TypeError);
});
await check('fetch: abort before, while waiting, and before reading the body', async () => {
  const { AbortController, AbortSignal } = ours;
  const reason = new Error('stop');
  frames.length = 0;
  await assert.rejects(fetch('https://a.test/p?q=1', { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  assert.equal(frames.length, 0);
  routes.set('https://a.test/hang', () => new Promise(() => {}));
  const controller = new AbortController();
  const pending = fetch('https://a.test/hang', { signal: controller.signal });
  setTimeout(() => controller.abort(reason), 5);
  await assert.rejects(pending, (e) => e === reason);
  const late = new AbortController();
  const r = await fetch('https://a.test/p?q=1', { signal: late.signal });
  const c = r.clone();
  late.abort();
  await assert.rejects(r.text(), (e) => e instanceof web.DOMException && e.name === 'AbortError');
  await assert.rejects(c.text(), (e) => e.name === 'AbortError');
  const dflt = await fetch('https://a.test/p?q=1', { signal: new AbortController().signal });
  assert.equal(await dflt.text(), 'hi');
});
await check('fetch: HEAD and 204 have null bodies', async () => {
  routes.set('https://a.test/204', () => answer(204));
  const r = await fetch('https://a.test/204');
  assert.equal(await r.text(), '');
  assert.equal(r.bodyUsed, false);
  const head = await fetch('https://a.test/p?q=1', { method: 'HEAD' });
  assert.equal(await head.text(), '');
});
await check('base64: all 256 byte values, both ways, and every length mod 3', async () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let n = 0; n <= 256; n++) {
    const part = all.subarray(256 - n);
    const text = toBase64(part);
    assert.equal(text, Buffer.from(part).toString('base64'));
    assert.deepEqual(fromBase64(text), new Uint8Array(part));
  }
  routes.set('https://a.test/echo', (f) => ({ status: 200, statusText: '', headers: [], body: f.body }));
  const r = await fetch('https://a.test/echo', { method: 'POST', body: all });
  assert.deepEqual(await r.bytes(), all);
  for (const bad of ['A', 'AA=A', '====', 'AB=C', 'AB==x===', 'A\u0141BC', 'AB\n=', 'AB=', 'AAB=', 'AAA=A===', 'AR==', 'AAB=']) {
    assert.equal(fromBase64(bad), null, JSON.stringify(bad));
  }
  assert.deepEqual(fromBase64('AAA='), new Uint8Array([0, 0]));
});
let timing = '';
await check('base64: 5 MB round trip through fetch', async () => {
  const big = new Uint8Array(5 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  let t = performance.now();
  const text = toBase64(big);
  const encodeMs = performance.now() - t;
  t = performance.now();
  const back = fromBase64(text);
  const decodeMs = performance.now() - t;
  assert.equal(text, Buffer.from(big).toString('base64'));
  assert.ok(Buffer.from(back).equals(Buffer.from(big)));
  t = performance.now();
  const r = await fetch('https://a.test/echo', { method: 'POST', body: big });
  const out = await r.bytes();
  const fetchMs = performance.now() - t;
  assert.ok(Buffer.from(out).equals(Buffer.from(big)));
  timing = `5 MiB: encode ${encodeMs.toFixed(1)} ms, decode ${decodeMs.toFixed(1)} ms, fetch echo round trip ${fetchMs.toFixed(1)} ms`;
});
await check('security: send reachable from no object', async () => {
  const seen = new Set();
  const visit = (value, depth) => {
    if (depth > 4 || value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return;
    seen.add(value);
    assert.notEqual(value, send);
    for (const key of Reflect.ownKeys(value)) {
      const d = Reflect.getOwnPropertyDescriptor(value, key);
      if ('value' in d) visit(d.value, depth + 1);
    }
    visit(Object.getPrototypeOf(value), depth + 1);
  };
  const r = await fetch('https://a.test/p?q=1');
  visit({ ...ours, r, h: r.headers, q: new ours.Request('https://a.test/'), it: r.headers.entries() }, 0);
  assert.throws(() => ours.Request.prototype.clone.call({}), TypeError);
  await assert.rejects(ours.Response.prototype.text.call(new ours.Request('https://a.test/')), TypeError);
});

console.log(timing);
if (failures.length) {
  console.log(failures.join('\n\n'));
  console.log(`${passed} passed, ${failures.length} failed`);
  process.exit(1);
}
console.log(`${passed} passed`);
