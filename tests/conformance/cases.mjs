// Web API conformance cases: the same file runs in Warden (tests/Warden.Tests/WebApis/ConformanceTests.cs)
// and in headless Chromium (run-in-chromium.sh), and both must give `expected` for every case.
// Cases follow the specs' own examples and web-platform-tests assertions (named in each case).
// A case marked `only: 'warden'` checks something Chrome deliberately differs on (an API Warden
// leaves out, Warden's user agent); it is skipped in Chromium.
const bytes = (view) => Array.from(view);
const errorName = (f) => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e.name;
  }
};
const rejection = async (p) => {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e.name;
  }
};

export default [
  // ---- globalThis / self / navigator ----
  { name: 'self is the global object', run: () => self === globalThis && typeof self.setTimeout, expected: 'function' },
  { name: 'navigator.userAgent names Warden', only: 'warden', run: () => navigator.userAgent.startsWith('Warden/'), expected: true },
  { name: 'navigator.userAgent is a string', run: () => typeof navigator.userAgent, expected: 'string' },
  { name: 'fetch is not provided', only: 'warden', run: () => typeof fetch, expected: 'undefined' },
  { name: 'SharedArrayBuffer and Atomics are not provided', only: 'warden', run: () => [typeof SharedArrayBuffer, typeof Atomics], expected: ['undefined', 'undefined'] },
  { name: 'WebAssembly is not provided by default', only: 'warden', run: () => typeof WebAssembly, expected: 'undefined' },
  { name: 'web globals are non-enumerable', run: () => ['URL', 'TextEncoder', 'structuredClone', 'crypto', 'AbortController'].filter((n) => Object.keys(globalThis).includes(n)), expected: [] },

  // ---- timers and microtasks (HTML) ----
  { name: 'setTimeout passes extra arguments', run: () => new Promise((r) => setTimeout((a, b) => r(a + b), 1, 2, 3)), expected: 5 },
  { name: 'timers run in order of due time, then of creation', run: () => new Promise((r) => { const o = []; setTimeout(() => o.push('b'), 5); setTimeout(() => o.push('a'), 0); setTimeout(() => o.push('c'), 5); setTimeout(() => r(o), 20); }), expected: ['a', 'b', 'c'] },
  { name: 'clearTimeout cancels', run: () => new Promise((r) => { const id = setTimeout(() => r('fired'), 1); clearTimeout(id); setTimeout(() => r('cancelled'), 10); }), expected: 'cancelled' },
  { name: 'setInterval repeats until cleared', run: () => new Promise((r) => { let n = 0; const id = setInterval(() => { if (++n === 3) { clearInterval(id); r(n); } }, 1); }), expected: 3 },
  { name: 'timer ids are positive integers', run: () => { const a = setTimeout(() => {}); const b = setTimeout(() => {}); clearTimeout(a); clearTimeout(b); return [Number.isInteger(a) && a > 0, b !== a]; }, expected: [true, true] },
  { name: 'queueMicrotask runs before timers and after the current job', run: () => new Promise((r) => { const o = []; setTimeout(() => { o.push('timer'); r(o); }, 0); queueMicrotask(() => o.push('micro')); o.push('sync'); }), expected: ['sync', 'micro', 'timer'] },
  { name: 'queueMicrotask rejects a non-function', run: () => errorName(() => queueMicrotask(1)), expected: 'TypeError' },

  // ---- structuredClone (HTML: StructuredSerialize) ----
  { name: 'structuredClone copies plain data', run: () => { const o = { a: [1, { b: 'c' }], d: null }; const c = structuredClone(o); return [c !== o, c.a !== o.a, JSON.stringify(c)]; }, expected: [true, true, '{"a":[1,{"b":"c"}],"d":null}'] },
  { name: 'structuredClone keeps cycles', run: () => { const o = { n: 1 }; o.self = o; const c = structuredClone(o); return c.self === c && c !== o; }, expected: true },
  { name: 'structuredClone handles Map, Set, Date, RegExp, BigInt', run: () => { const c = structuredClone({ m: new Map([[1, 'x']]), s: new Set([2]), d: new Date(0), r: /a+/gi, b: 10n }); return [c.m.get(1), c.s.has(2), c.d.toISOString(), c.r.source + c.r.flags, typeof c.b]; }, expected: ['x', true, '1970-01-01T00:00:00.000Z', 'a+gi', 'bigint'] },
  { name: 'structuredClone copies typed arrays and buffers', run: () => { const u = new Uint8Array([1, 2, 3]); const c = structuredClone(u); c[0] = 9; return [bytes(u), bytes(c), c instanceof Uint8Array]; }, expected: [[1, 2, 3], [9, 2, 3], true] },
  { name: 'structuredClone copies errors with name and message', run: () => { const e = structuredClone(new RangeError('boom')); return [e instanceof RangeError, e.name, e.message]; }, expected: [true, 'RangeError', 'boom'] },
  { name: 'structuredClone refuses functions with DataCloneError', run: () => { try { structuredClone(() => 1); return 'cloned'; } catch (e) { return [e instanceof DOMException, e.name, e.code]; } }, expected: [true, 'DataCloneError', 25] },
  { name: 'structuredClone refuses symbols', run: () => errorName(() => structuredClone(Symbol('s'))), expected: 'DataCloneError' },
  { name: 'structuredClone drops prototypes and accessors', run: () => { class P { get x() { return 1; } } const c = structuredClone(Object.assign(new P(), { y: 2 })); return [Object.getPrototypeOf(c) === Object.prototype, 'x' in c, c.y]; }, expected: [true, false, 2] },
  { name: 'structuredClone with transfer detaches the buffer', run: () => { const b = new ArrayBuffer(8); const c = structuredClone(b, { transfer: [b] }); return [b.byteLength, c.byteLength]; }, expected: [0, 8] },

  // ---- resizable ArrayBuffers (ECMA-262 2024; Warden counts their bytes against the memory budget) ----
  { name: 'ArrayBuffer resizes within maxByteLength', run: () => { const b = new ArrayBuffer(2, { maxByteLength: 16 }); b.resize(12); const r = [b.byteLength, b.resizable, b.maxByteLength]; b.resize(0); return [...r, b.byteLength]; }, expected: [12, true, 16, 0] },
  { name: 'resize past maxByteLength is a RangeError', run: () => errorName(() => new ArrayBuffer(2, { maxByteLength: 4 }).resize(5)), expected: 'RangeError' },
  { name: 'a length-tracking typed array follows its buffer', run: () => { const b = new ArrayBuffer(4, { maxByteLength: 16 }); const all = new Uint16Array(b); const fixed = new Uint16Array(b, 0, 2); b.resize(16); const grown = [all.length, fixed.length]; b.resize(2); return [...grown, all.length, fixed.length]; }, expected: [8, 2, 1, 0] },
  { name: 'resizing keeps the bytes', run: () => { const b = new ArrayBuffer(2, { maxByteLength: 8 }); new Uint8Array(b).set([7, 9]); b.resize(4); return bytes(new Uint8Array(b)); }, expected: [7, 9, 0, 0] },
  { name: 'transfer keeps resizability, transferToFixedLength drops it', run: () => { const b = new ArrayBuffer(2, { maxByteLength: 8 }); new Uint8Array(b)[0] = 5; const t = b.transfer(6); const max = t.maxByteLength; const f = t.transferToFixedLength(); return [b.detached, max, t.detached, t.maxByteLength, f.resizable, f.byteLength, new Uint8Array(f)[0]]; }, expected: [true, 8, true, 0, false, 6, 5] },
  { name: 'structuredClone keeps a buffer resizable', run: () => { const c = structuredClone(new ArrayBuffer(2, { maxByteLength: 8 })); c.resize(8); return [c.resizable, c.byteLength]; }, expected: [true, 8] },
  { name: 'a DataView over a resizable buffer tracks its length', run: () => { const b = new ArrayBuffer(4, { maxByteLength: 8 }); const v = new DataView(b); b.resize(8); return v.byteLength; }, expected: 8 },

  // ---- TextEncoder / TextDecoder (Encoding) ----
  { name: 'TextEncoder encodes UTF-8', run: () => bytes(new TextEncoder().encode('a€😀')), expected: [97, 226, 130, 172, 240, 159, 152, 128] },
  { name: 'TextEncoder.encoding is utf-8', run: () => new TextEncoder().encoding, expected: 'utf-8' },
  { name: 'TextEncoder replaces lone surrogates', run: () => bytes(new TextEncoder().encode('\ud800')), expected: [239, 191, 189] },
  { name: 'TextEncoder.encodeInto reports read and written', run: () => { const u = new Uint8Array(5); const r = new TextEncoder().encodeInto('a€b', u); return [r.read, r.written, bytes(u)]; }, expected: [3, 5, [97, 226, 130, 172, 98]] },
  { name: 'TextEncoder.encodeInto never splits a character', run: () => { const u = new Uint8Array(3); const r = new TextEncoder().encodeInto('a€', u); return [r.read, r.written]; }, expected: [1, 1] },
  { name: 'TextDecoder decodes UTF-8', run: () => new TextDecoder().decode(new Uint8Array([0xe2, 0x82, 0xac, 0x21])), expected: '€!' },
  { name: 'TextDecoder strips the BOM unless ignoreBOM', run: () => [new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])).length], expected: ['A', 2] },
  { name: 'TextDecoder replaces invalid bytes', run: () => new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0x62])), expected: 'a\ufffdb' },
  { name: 'TextDecoder fatal throws TypeError', run: () => errorName(() => new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff]))), expected: 'TypeError' },
  { name: 'TextDecoder stream mode joins split characters', run: () => { const d = new TextDecoder(); return d.decode(new Uint8Array([0xe2, 0x82]), { stream: true }) + d.decode(new Uint8Array([0xac])); }, expected: '€' },
  { name: 'TextDecoder labels are normalised', run: () => [new TextDecoder('UTF8').encoding, new TextDecoder(' unicode-1-1-utf-8 ').encoding, new TextDecoder('utf-16le').encoding], expected: ['utf-8', 'utf-8', 'utf-16le'] },
  { name: 'TextDecoder rejects an unknown label with RangeError', run: () => errorName(() => new TextDecoder('no-such-encoding')), expected: 'RangeError' },
  { name: 'TextDecoder decodes UTF-16LE and windows-1252', run: () => [new TextDecoder('utf-16le').decode(new Uint8Array([0x41, 0, 0xac, 0x20])), new TextDecoder('windows-1252').decode(new Uint8Array([0x80, 0xe9]))], expected: ['A€', '€é'] },
  { name: 'TextDecoder accepts an ArrayBuffer and a DataView', run: () => [new TextDecoder().decode(new Uint8Array([104, 105]).buffer), new TextDecoder().decode(new DataView(new Uint8Array([0, 104, 105]).buffer, 1))], expected: ['hi', 'hi'] },

  // ---- atob / btoa (HTML: forgiving-base64) ----
  { name: 'btoa encodes Latin-1', run: () => [btoa(''), btoa('f'), btoa('fo'), btoa('foo'), btoa('\xff\xfe')], expected: ['', 'Zg==', 'Zm8=', 'Zm9v', '//4='] },
  { name: 'btoa rejects characters above U+00FF', run: () => { try { btoa('€'); return 'ok'; } catch (e) { return [e instanceof DOMException, e.name]; } }, expected: [true, 'InvalidCharacterError'] },
  { name: 'atob decodes, ignoring ASCII whitespace and missing padding', run: () => [atob('Zm9v'), atob(' Zm 9v\n'), atob('Zm8'), atob('Zg')], expected: ['foo', 'foo', 'fo', 'f'] },
  { name: 'atob rejects bad input', run: () => [errorName(() => atob('Zm9v=')), errorName(() => atob('Z')), errorName(() => atob('Zm9v!'))], expected: ['InvalidCharacterError', 'InvalidCharacterError', 'InvalidCharacterError'] },
  { name: 'atob converts its argument to a string', run: () => [errorName(() => atob(undefined)), atob(null).length], expected: ['InvalidCharacterError', 3] },

  // ---- URL / URLSearchParams (WHATWG URL) ----
  { name: 'URL parses and normalises', run: () => { const u = new URL('HTTPS://User:Pw@EXAMPLE.com:443/a/./b/../c?x=1#frag'); return [u.href, u.protocol, u.username, u.host, u.port, u.pathname, u.search, u.hash, u.origin]; }, expected: ['https://User:Pw@example.com/a/c?x=1#frag', 'https:', 'User', 'example.com', '', '/a/c', '?x=1', '#frag', 'https://example.com'] },
  { name: 'URL resolves against a base (spec examples)', run: () => [new URL('../x', 'https://example.com/a/b/c').href, new URL('//other.org/p', 'https://example.com').href, new URL('?q', 'https://example.com/p?z').href], expected: ['https://example.com/a/x', 'https://other.org/p', 'https://example.com/p?q'] },
  { name: 'URL maps international domains to punycode', run: () => [new URL('https://bücher.example/').host, new URL('https://EXAMPLE.xn--p1ai/').host], expected: ['xn--bcher-kva.example', 'example.xn--p1ai'] },
  { name: 'URL parses IPv4 and IPv6 hosts', run: () => [new URL('http://0x7f.1/').host, new URL('http://[0:0::1]/').host, new URL('http://192.168.257/').host, errorName(() => new URL('http://192.168.0.257/'))], expected: ['127.0.0.1', '[::1]', '192.168.1.1', 'TypeError'] },
  { name: 'URL throws TypeError on invalid input', run: () => [errorName(() => new URL('no scheme')), errorName(() => new URL('http://[::1/')), errorName(() => new URL('https://a:99999/'))], expected: ['TypeError', 'TypeError', 'TypeError'] },
  { name: 'URL.canParse and URL.parse', run: () => [URL.canParse('https://a/'), URL.canParse('nope'), URL.parse('nope'), URL.parse('/p', 'https://a/').href], expected: [true, false, null, 'https://a/p'] },
  { name: 'URL setters follow the state machine', run: () => { const u = new URL('https://example.com/a'); u.pathname = 'b c'; u.search = 'x=1 2'; u.hash = 'h'; u.port = '8080'; u.protocol = 'ftp'; const ftp = u.href; u.protocol = 'mailto'; return [ftp, u.protocol]; }, expected: ['ftp://example.com:8080/b%20c?x=1%202#h', 'ftp:'] },
  { name: 'URL percent-encodes per component', run: () => new URL('https://example.com/ä?ä=ä#ä').href, expected: 'https://example.com/%C3%A4?%C3%A4=%C3%A4#%C3%A4' },
  { name: 'URL opaque paths and non-special schemes', run: () => { const u = new URL('mailto:someone@example.com'); return [u.protocol, u.pathname, u.host, u.origin]; }, expected: ['mailto:', 'someone@example.com', '', 'null'] },
  { name: 'URL toJSON and String', run: () => [JSON.stringify({ u: new URL('https://a/b') }), String(new URL('https://a/b'))], expected: ['{"u":"https://a/b"}', 'https://a/b'] },
  { name: 'URLSearchParams parses and serialises', run: () => { const p = new URLSearchParams('?a=1&b=2&a=3&c=%20+x'); return [p.get('a'), p.getAll('a'), p.get('c'), p.has('b'), p.get('zzz'), p.toString()]; }, expected: ['1', ['1', '3'], '  x', true, null, 'a=1&b=2&a=3&c=++x'] },
  { name: 'URLSearchParams from records and sequences', run: () => [new URLSearchParams({ a: '1', b: 'x y' }).toString(), new URLSearchParams([['a', '1'], ['a', '2']]).toString()], expected: ['a=1&b=x+y', 'a=1&a=2'] },
  { name: 'URLSearchParams append, set, delete, sort', run: () => { const p = new URLSearchParams('z=1&a=2&z=3'); p.append('b', '4'); p.set('z', '5'); p.delete('a'); p.sort(); return p.toString(); }, expected: 'b=4&z=5' },
  { name: 'URLSearchParams delete and has with a value', run: () => { const p = new URLSearchParams('a=1&a=2&a=3'); p.delete('a', '2'); return [p.toString(), p.has('a', '3'), p.has('a', '2')]; }, expected: ['a=1&a=3', true, false] },
  { name: 'URLSearchParams iterates in order', run: () => [...new URLSearchParams('b=2&a=1')].map(([k, v]) => k + v), expected: ['b2', 'a1'] },
  { name: 'URL.searchParams is live', run: () => { const u = new URL('https://a/?x=1'); u.searchParams.append('y', '2'); const s1 = u.search; u.search = '?z=3'; return [s1, u.searchParams.get('z'), u.searchParams.size]; }, expected: ['?x=1&y=2', '3', 1] },

  // ---- crypto (WebCrypto) ----
  { name: 'crypto.getRandomValues fills and returns the same array', run: () => { const a = new Uint32Array(16); const r = crypto.getRandomValues(a); return [r === a, a.some((x) => x !== 0)]; }, expected: [true, true] },
  { name: 'crypto.getRandomValues accepts every integer array type', run: () => [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array].map((T) => crypto.getRandomValues(new T(2)).length), expected: [2, 2, 2, 2, 2, 2, 2, 2, 2] },
  { name: 'crypto.getRandomValues refuses float arrays and DataView', run: () => [errorName(() => crypto.getRandomValues(new Float64Array(1))), errorName(() => crypto.getRandomValues(new DataView(new ArrayBuffer(4))))], expected: ['TypeMismatchError', 'TypeMismatchError'] },
  { name: 'crypto.getRandomValues refuses more than 65536 bytes', run: () => [crypto.getRandomValues(new Uint8Array(65536)).length, errorName(() => crypto.getRandomValues(new Uint8Array(65537)))], expected: [65536, 'QuotaExceededError'] },
  { name: 'crypto.getRandomValues fills a view at its offset only', run: () => { const b = new Uint8Array(8); crypto.getRandomValues(new Uint8Array(b.buffer, 2, 0)); return bytes(b); }, expected: [0, 0, 0, 0, 0, 0, 0, 0] },
  { name: 'crypto.randomUUID is a version 4 UUID', run: () => { const u = crypto.randomUUID(); return [/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u), u !== crypto.randomUUID()]; }, expected: [true, true] },
  { name: 'Crypto cannot be constructed', run: () => [typeof Crypto, errorName(() => new Crypto()), crypto instanceof Crypto], expected: ['function', 'TypeError', true] },

  // ---- performance (High Resolution Time) ----
  { name: 'performance.now is monotonic and non-negative', run: () => { const a = performance.now(); let b = a; for (let i = 0; i < 1e5; i++) b = performance.now(); return [a >= 0, b >= a]; }, expected: [true, true] },
  { name: 'performance.timeOrigin is close to Date.now() - now()', run: () => Math.abs(performance.timeOrigin + performance.now() - Date.now()) < 1000, expected: true },
  { name: 'performance.toJSON has timeOrigin', run: () => typeof performance.toJSON().timeOrigin, expected: 'number' },
  { name: 'performance.now advances with timers', run: () => new Promise((r) => { const a = performance.now(); setTimeout(() => r(performance.now() - a >= 15), 20); }), expected: true },

  // ---- DOMException (WebIDL) ----
  { name: 'DOMException has name, message and legacy code', run: () => { const e = new DOMException('msg', 'NotFoundError'); return [e.name, e.message, e.code, e instanceof Error, Object.prototype.toString.call(e)]; }, expected: ['NotFoundError', 'msg', 8, true, '[object DOMException]'] },
  { name: 'DOMException defaults and unknown names', run: () => { const a = new DOMException(); const b = new DOMException('m', 'Custom'); return [a.name, a.message, a.code, b.code]; }, expected: ['Error', '', 0, 0] },
  { name: 'DOMException constants', run: () => [DOMException.ABORT_ERR, DOMException.DATA_CLONE_ERR, DOMException.prototype.TIMEOUT_ERR], expected: [20, 25, 23] },

  // ---- EventTarget / Event (DOM) ----
  { name: 'EventTarget dispatches to listeners in order', run: () => { const t = new EventTarget(); const o = []; t.addEventListener('x', () => o.push(1)); t.addEventListener('x', { handleEvent: () => o.push(2) }); t.dispatchEvent(new Event('x')); return o; }, expected: [1, 2] },
  { name: 'EventTarget ignores duplicate listeners and honours once', run: () => { const t = new EventTarget(); let n = 0; const f = () => n++; t.addEventListener('x', f); t.addEventListener('x', f); t.addEventListener('y', f, { once: true }); t.dispatchEvent(new Event('x')); t.dispatchEvent(new Event('y')); t.dispatchEvent(new Event('y')); return n; }, expected: 2 },
  { name: 'removeEventListener and the signal option', run: () => { const t = new EventTarget(); let n = 0; const f = () => n++; const c = new AbortController(); t.addEventListener('x', f); t.removeEventListener('x', f); t.addEventListener('x', () => n += 10, { signal: c.signal }); t.dispatchEvent(new Event('x')); c.abort(); t.dispatchEvent(new Event('x')); return n; }, expected: 10 },
  { name: 'Event properties during and after dispatch', run: () => { const t = new EventTarget(); let seen; t.addEventListener('x', (e) => { seen = [e.type, e.target === t, e.currentTarget === t, e.eventPhase, e.isTrusted]; }); const e = new Event('x', { cancelable: true }); t.dispatchEvent(e); return [seen, e.currentTarget, e.eventPhase]; }, expected: [['x', true, true, 2, false], null, 0] },
  { name: 'preventDefault only for cancelable events', run: () => { const t = new EventTarget(); t.addEventListener('x', (e) => e.preventDefault()); return [t.dispatchEvent(new Event('x', { cancelable: true })), t.dispatchEvent(new Event('x'))]; }, expected: [false, true] },
  { name: 'stopImmediatePropagation stops later listeners', run: () => { const t = new EventTarget(); const o = []; t.addEventListener('x', (e) => { o.push(1); e.stopImmediatePropagation(); }); t.addEventListener('x', () => o.push(2)); t.dispatchEvent(new Event('x')); return o; }, expected: [1] },
  { name: 'dispatching an event twice at once throws InvalidStateError', run: () => { const t = new EventTarget(); const e = new Event('x'); let r; t.addEventListener('x', () => { r = errorName(() => t.dispatchEvent(e)); }); t.dispatchEvent(e); return r; }, expected: 'InvalidStateError' },
  { name: 'EventTarget can be subclassed', run: () => { class T extends EventTarget {} const t = new T(); let n = 0; t.addEventListener('x', () => n++); t.dispatchEvent(new Event('x')); return [n, t instanceof EventTarget]; }, expected: [1, true] },
  { name: 'Event needs a type', run: () => errorName(() => new Event()), expected: 'TypeError' },

  // ---- AbortController / AbortSignal (DOM) ----
  { name: 'AbortController aborts its signal once, with an AbortError by default', run: () => { const c = new AbortController(); let n = 0; c.signal.addEventListener('abort', () => n++); c.signal.onabort = () => n++; c.abort(); c.abort(); return [c.signal.aborted, n, c.signal.reason instanceof DOMException, c.signal.reason.name]; }, expected: [true, 2, true, 'AbortError'] },
  { name: 'AbortController.abort keeps a given reason', run: () => { const c = new AbortController(); c.abort('why'); let thrown; try { c.signal.throwIfAborted(); } catch (e) { thrown = e; } return [c.signal.reason, thrown]; }, expected: ['why', 'why'] },
  { name: 'throwIfAborted throws the reason', run: () => { const c = new AbortController(); c.abort(new RangeError('r')); try { c.signal.throwIfAborted(); return 'no throw'; } catch (e) { return e.name; } }, expected: 'RangeError' },
  { name: 'AbortSignal.abort is already aborted', run: () => { const s = AbortSignal.abort(); return [s.aborted, s.reason.name]; }, expected: [true, 'AbortError'] },
  { name: 'AbortSignal.timeout aborts with a TimeoutError', run: () => new Promise((r) => { const s = AbortSignal.timeout(5); s.addEventListener('abort', () => r([s.aborted, s.reason instanceof DOMException, s.reason.name])); }), expected: [true, true, 'TimeoutError'] },
  { name: 'AbortSignal.timeout is not aborted yet', run: () => AbortSignal.timeout(1000).aborted, expected: false },
  { name: 'AbortSignal.timeout enforces its range', run: () => [errorName(() => AbortSignal.timeout(-1)), errorName(() => AbortSignal.timeout(Infinity))], expected: ['TypeError', 'TypeError'] },
  { name: 'AbortSignal.any follows the first source to abort', run: () => { const a = new AbortController(); const b = new AbortController(); const s = AbortSignal.any([a.signal, b.signal]); b.abort('b'); a.abort('a'); return [s.aborted, s.reason]; }, expected: [true, 'b'] },
  { name: 'AbortSignal.any of an aborted signal is aborted at once', run: () => { const s = AbortSignal.any([new AbortController().signal, AbortSignal.abort('x')]); return [s.aborted, s.reason]; }, expected: [true, 'x'] },
  { name: 'AbortSignal cannot be constructed', run: () => errorName(() => new AbortSignal()), expected: 'TypeError' },
  { name: 'AbortSignal is an EventTarget', run: () => new AbortController().signal instanceof EventTarget, expected: true },

  // ---- Blob (File API) ----
  { name: 'Blob concatenates strings, buffers, views and blobs', run: async () => { const b = new Blob(['a€', new Uint8Array([98]), new Uint16Array([0x6463]).buffer, new Blob(['e'])]); return [b.size, await b.text()]; }, expected: [8, 'a€bcde'] },
  { name: 'Blob type is lowercased, and dropped if not printable ASCII', run: () => [new Blob([], { type: 'Text/Plain' }).type, new Blob([], { type: 'a\u00e9' }).type, new Blob().type], expected: ['text/plain', '', ''] },
  { name: 'Blob.slice clamps like Array.prototype.slice', run: async () => { const b = new Blob(['hello world']); return [await b.slice(6).text(), await b.slice(-5, -1).text(), await b.slice(3, 1).text(), b.slice(0, 5, 'X/Y').type]; }, expected: ['world', 'worl', '', 'x/y'] },
  { name: 'Blob.arrayBuffer and bytes copy the contents', run: async () => { const b = new Blob([new Uint8Array([1, 2, 3])]); const ab = await b.arrayBuffer(); const u = await b.bytes(); return [ab.byteLength, bytes(u), u instanceof Uint8Array]; }, expected: [3, [1, 2, 3], true] },
  { name: 'Blob endings native converts line breaks', run: () => new Blob(['a\r\nb\rc'], { endings: 'native' }).size, expected: 5 },
  { name: 'Blob rejects a non-sequence and a bad endings value', run: () => [errorName(() => new Blob('abc')), errorName(() => new Blob([], { endings: 'x' }))], expected: ['TypeError', 'TypeError'] },
  { name: 'Blob.text decodes invalid UTF-8 with replacement characters', run: () => new Blob([new Uint8Array([0x61, 0xff])]).text(), expected: 'a\ufffd' },
  { name: 'Blob is not affected by later changes to its parts', run: async () => { const u = new Uint8Array([1]); const b = new Blob([u]); u[0] = 2; return bytes(await b.bytes()); }, expected: [1] },
  { name: 'Blob methods on a non-Blob reject or throw TypeError', run: async () => [await rejection(Blob.prototype.text.call({})), errorName(() => Blob.prototype.slice.call({}))], expected: ['TypeError', 'TypeError'] },
];
