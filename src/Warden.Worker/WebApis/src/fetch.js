// fetch, Headers, Request and Response (Fetch Standard, https://fetch.spec.whatwg.org), without streams:
// a body is bytes in memory (or a Blob), read whole. Written here: the maintained implementations
// (undici, node-fetch, whatwg-fetch) are tied to Node's streams and sockets or to XMLHttpRequest.
//
// SECURITY: the isolate only shapes requests (docs/web-apis.md; the design is the fetch note, §0,
// §3, §4). The one way out is deps.send(frame), held in this closure and never stored on any object a
// script can reach. A frame is a fresh plain object of strings and arrays of strings built here from
// our own state, one per HTTP request; the host re-checks every field of every frame (URL round-trip,
// origin grants, method, headers, limits), so what is enforced here (forbidden headers dropped,
// credentials and non-HTTP(S) URLs refused, Authorization dropped on a cross-origin redirect) is the
// browser's behaviour, not the boundary. Redirects are followed here, each hop a new frame under the
// same host check, so a redirect can reach nothing a direct fetch could not.
//
// deps are captured once: { URL, Blob, AbortSignal, TextEncoder, TextDecoder, URLSearchParams, send }
// (an abort's reason is the signal's own, so no DOMException is needed). Nothing is read from
// globalThis later (a script may have replaced it): Promise too is the one of the bundle's load.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_REQUEST_HEADERS = new Set(['accept-charset', 'accept-encoding', 'access-control-request-headers',
  'access-control-request-method', 'connection', 'content-length', 'cookie', 'cookie2', 'date', 'dnt', 'expect',
  'host', 'keep-alive', 'origin', 'permissions-policy', 'referer', 'set-cookie', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'via']);
const METHOD_OVERRIDE_HEADERS = new Set(['x-http-method', 'x-http-method-override', 'x-method-override']);
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const REQUEST_BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type'];
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
// RequestInit's enumerations: member → [WebIDL type, values].
const ENUMS = {
  __proto__: null,
  mode: ['RequestMode', ['same-origin', 'no-cors', 'cors', 'navigate']],
  credentials: ['RequestCredentials', ['omit', 'same-origin', 'include']],
  cache: ['RequestCache', ['default', 'no-store', 'reload', 'no-cache', 'force-cache', 'only-if-cached']],
  redirect: ['RequestRedirect', ['follow', 'error', 'manual']],
  referrerPolicy: ['ReferrerPolicy', ['', 'no-referrer', 'no-referrer-when-downgrade', 'same-origin', 'origin',
    'strict-origin', 'origin-when-cross-origin', 'strict-origin-when-cross-origin', 'unsafe-url']],
  priority: ['RequestPriority', ['high', 'low', 'auto']],
  duplex: ['RequestDuplex', ['half']],
};

// Base64 over bytes: the engine's own Uint8Array.prototype.toBase64/Uint8Array.fromBase64 where it
// has them (QuickJS-NG in quickjs-wasi 3.7.0 does: 5 MiB in a few ms instead of ~1-1.5 s in its
// interpreter), else a table loop. Never atob/btoa: a body of megabytes would become a string of one
// character per byte first. Captured when the bundle loads.
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENCODE = new Uint8Array(64);
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
  ENCODE[i] = BASE64.charCodeAt(i);
  DECODE[ENCODE[i]] = i;
}
const NativePromise = Promise;
const fromCharCode = String.fromCharCode;
const apply = Reflect.apply;
const CHUNK_BYTES = 6144; // → 8192 characters, one fromCharCode call (a plain array is its fast path)

export function encodeBase64(bytes) {
  const n = bytes.length;
  const codes = [];
  let text = '';
  for (let start = 0; start < n; start += CHUNK_BYTES) {
    const end = Math.min(start + CHUNK_BYTES, n);
    let o = 0;
    let i = start;
    for (; i + 2 < end; i += 3) {
      const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      codes[o++] = ENCODE[v >> 18];
      codes[o++] = ENCODE[(v >> 12) & 63];
      codes[o++] = ENCODE[(v >> 6) & 63];
      codes[o++] = ENCODE[v & 63];
    }
    if (i < end) { // only in the last chunk: CHUNK_BYTES is a multiple of 3
      const v = (bytes[i] << 16) | (i + 1 < end ? bytes[i + 1] << 8 : 0);
      codes[o++] = ENCODE[v >> 18];
      codes[o++] = ENCODE[(v >> 12) & 63];
      codes[o++] = i + 1 < end ? ENCODE[(v >> 6) & 63] : 61;
      codes[o++] = 61;
    }
    codes.length = o;
    text += apply(fromCharCode, null, codes);
  }
  return text;
}

// Strict: canonical padding only, no whitespace. Returns null for anything else.
export function decodeBase64(text) {
  const n = text.length;
  if (n % 4 !== 0) return null;
  const pad = n === 0 ? 0 : text.charCodeAt(n - 1) !== 61 ? 0 : text.charCodeAt(n - 2) !== 61 ? 1 : 2;
  const out = new Uint8Array((n / 4) * 3 - pad);
  const full = pad === 0 ? n : n - 4;
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const a = text.charCodeAt(i), b = text.charCodeAt(i + 1), c = text.charCodeAt(i + 2), d = text.charCodeAt(i + 3);
    if ((a | b | c | d) > 255) return null;
    const v = (DECODE[a] << 18) | (DECODE[b] << 12) | (DECODE[c] << 6) | DECODE[d];
    if ((DECODE[a] | DECODE[b] | DECODE[c] | DECODE[d]) < 0) return null;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 255;
    out[o++] = v & 255;
  }
  if (pad !== 0) {
    const a = DECODE[text.charCodeAt(full) & 255], b = DECODE[text.charCodeAt(full + 1) & 255];
    const c = pad === 1 ? DECODE[text.charCodeAt(full + 2) & 255] : 0;
    if ((a | b | c) < 0 || text.charCodeAt(full) > 255 || text.charCodeAt(full + 1) > 255 || text.charCodeAt(full + 2) > 255) return null;
    const v = (a << 18) | (b << 12) | (c << 6);
    out[o++] = v >> 16;
    if (pad === 1) out[o++] = (v >> 8) & 255;
    if ((pad === 2 ? v & 0xffff : v & 0xff) !== 0) return null; // non-canonical trailing bits
  }
  return out;
}

const nativeToBase64 = Uint8Array.prototype.toBase64;
const nativeFromBase64 = Uint8Array.fromBase64;
const STRICT_BASE64 = Object.freeze({ __proto__: null, lastChunkHandling: 'strict' });
const toBase64 = typeof nativeToBase64 === 'function' ? (bytes) => apply(nativeToBase64, bytes, []) : encodeBase64;
const fromBase64 = typeof nativeFromBase64 !== 'function' ? decodeBase64 : (text) => {
  if (text.length % 4 !== 0) return null;
  try {
    return apply(nativeFromBase64, Uint8Array, [text, STRICT_BASE64]);
  } catch {
    return null;
  }
};

export function createFetchApi(deps) {
  const { URL, Blob, AbortSignal, TextEncoder, TextDecoder, URLSearchParams, send } = deps;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const fail = (where, message) => new TypeError(`Failed to ${where}: ${message}`);
  const need = (count, required, where) => {
    if (count < required) {
      throw fail(where, `${required} argument${required > 1 ? 's' : ''} required, but only ${count} present.`);
    }
  };

  // WebIDL ByteString: ToString (which throws for a Symbol), then no code unit above U+00FF.
  function byteString(value, where) {
    const text = `${value}`;
    if (/[^\x00-\xff]/.test(text)) throw fail(where, 'String contains non ISO-8859-1 code point.');
    return text;
  }
  function enumValue(value, key, where) {
    const text = `${value}`;
    const [type, values] = ENUMS[key];
    if (!values.includes(text)) {
      throw fail(where, `Failed to read the '${key}' property from 'RequestInit': The provided value '${text}' is not a valid enum value of type ${type}.`);
    }
    return text;
  }
  // A header value is "normalised" by stripping leading and trailing HTTP whitespace.
  const normaliseValue = (value) => value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  const isHeaderValue = (value) => !/[\0\r\n]/.test(value);

  // "forbidden request-header" (Fetch, 2.2.2).
  function isForbiddenRequestHeader(lower, value) {
    if (FORBIDDEN_REQUEST_HEADERS.has(lower) || lower.startsWith('proxy-') || lower.startsWith('sec-')) return true;
    if (!METHOD_OVERRIDE_HEADERS.has(lower)) return false;
    for (const method of value.split(',')) {
      if (FORBIDDEN_METHODS.has(method.replace(/^[\t ]+|[\t ]+$/g, '').toUpperCase())) return true;
    }
    return false;
  }

  // ---- Headers ----------------------------------------------------------------------------------
  // The header list is an array of [name as given, lowercase name, value]; guard is 'none',
  // 'request', 'response' or 'immutable'. Scripts' Responses keep Set-Cookie (as in Node, Deno and
  // Workers); the host never passes one to a fetch response.
  let headersList;
  let headersGuardOf;
  let headersAppend;
  let newHeaders;
  let sortAndCombine;
  let isHeaders;
  let checkGuard;
  let appendHeader;

  class Headers {
    #list = [];
    #guard = 'none';
    #sorted = null;

    constructor(init = undefined) {
      if (init !== undefined) fillHeaders(this, init, "construct 'Headers'");
    }

    append(name, value) {
      need(arguments.length, 2, "execute 'append' on 'Headers'");
      appendHeader(brandHeaders(this), name, value, "execute 'append' on 'Headers'");
    }

    delete(name) {
      const where = "execute 'delete' on 'Headers'";
      need(arguments.length, 1, where);
      const headers = brandHeaders(this);
      const lower = headerName(name, where);
      if (!checkGuard(headers, lower, '', where)) return;
      const list = headers.#list;
      let kept = 0;
      for (let i = 0; i < list.length; i++) if (list[i][1] !== lower) list[kept++] = list[i];
      if (kept !== list.length) {
        list.length = kept;
        headers.#sorted = null;
      }
    }

    get(name) {
      const where = "execute 'get' on 'Headers'";
      need(arguments.length, 1, where);
      return combinedValue(brandHeaders(this).#list, headerName(name, where));
    }

    getSetCookie() {
      const values = [];
      for (const entry of brandHeaders(this).#list) if (entry[1] === 'set-cookie') values.push(entry[2]);
      return values;
    }

    has(name) {
      const where = "execute 'has' on 'Headers'";
      need(arguments.length, 1, where);
      const lower = headerName(name, where);
      for (const entry of brandHeaders(this).#list) if (entry[1] === lower) return true;
      return false;
    }

    set(name, value) {
      const where = "execute 'set' on 'Headers'";
      need(arguments.length, 2, where);
      const headers = brandHeaders(this);
      const lower = headerName(name, where);
      const normalised = headerValue(value, where);
      if (!checkGuard(headers, lower, normalised, where)) return;
      const list = headers.#list;
      let found = false;
      let kept = 0;
      for (let i = 0; i < list.length; i++) {
        if (list[i][1] !== lower) list[kept++] = list[i];
        else if (!found) {
          found = true;
          list[kept++] = [list[i][0], lower, normalised];
        }
      }
      list.length = kept;
      if (!found) list.push([`${name}`, lower, normalised]);
      headers.#sorted = null;
    }

    forEach(callback, thisArg = undefined) {
      const where = "execute 'forEach' on 'Headers'";
      need(arguments.length, 1, where);
      const headers = brandHeaders(this);
      if (typeof callback !== 'function') throw fail(where, "parameter 1 is not of type 'Function'.");
      for (let i = 0; i < sortAndCombine(headers).length; i++) {
        const pair = sortAndCombine(headers)[i];
        apply(callback, thisArg, [pair[1], pair[0], headers]);
      }
    }

    keys() {
      return new HeadersIterator(brandHeaders(this), 0);
    }

    values() {
      return new HeadersIterator(brandHeaders(this), 1);
    }

    entries() {
      return new HeadersIterator(brandHeaders(this), 2);
    }

    static {
      headersList = (headers) => headers.#list;
      headersGuardOf = (headers) => headers.#guard;
      // Appends without the guard (the host's answer, copies of lists already checked).
      headersAppend = (headers, name, lower, value) => {
        headers.#list.push([name, lower, value]);
        headers.#sorted = null;
      };
      newHeaders = (guard, list) => {
        const headers = new Headers();
        for (const entry of list) headers.#list.push(entry);
        headers.#guard = guard;
        return headers;
      };
      // "sort and combine": lowercase names in code-unit order, values joined by ", ", except
      // that every Set-Cookie stays its own pair. Cached until the list changes.
      sortAndCombine = (headers) => {
        if (headers.#sorted !== null) return headers.#sorted;
        const names = [];
        for (const entry of headers.#list) if (!names.includes(entry[1])) names.push(entry[1]);
        names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const pairs = [];
        for (const name of names) {
          if (name === 'set-cookie') {
            for (const entry of headers.#list) if (entry[1] === name) pairs.push([name, entry[2]]);
          } else {
            pairs.push([name, combinedValue(headers.#list, name)]);
          }
        }
        headers.#sorted = pairs;
        return pairs;
      };
      isHeaders = (value) => typeof value === 'object' && value !== null && #list in value;
      checkGuard = (headers, lower, value, where) => {
        if (headers.#guard === 'immutable') throw fail(where, 'Headers are immutable');
        return !(headers.#guard === 'request' && isForbiddenRequestHeader(lower, value));
      };
      appendHeader = (headers, name, value, where) => {
        const lower = headerName(name, where);
        const normalised = headerValue(value, where);
        if (!checkGuard(headers, lower, normalised, where)) return;
        const first = headers.#list.find((entry) => entry[1] === lower);
        headers.#list.push([first ? first[0] : `${name}`, lower, normalised]);
        headers.#sorted = null;
      };
    }
  }
  Object.defineProperty(Headers.prototype, Symbol.iterator, { value: Headers.prototype.entries, writable: true, configurable: true });
  Object.defineProperty(Headers.prototype, Symbol.toStringTag, { value: 'Headers', configurable: true });

  function brandHeaders(value) {
    if (!isHeaders(value)) throw new TypeError('Illegal invocation');
    return value;
  }
  function headerName(name, where) {
    const text = byteString(name, where);
    if (!TOKEN.test(text)) throw fail(where, `Invalid name`);
    return text.toLowerCase();
  }
  function headerValue(value, where) {
    const text = normaliseValue(byteString(value, where));
    if (!isHeaderValue(text)) throw fail(where, `Invalid value`);
    return text;
  }
  function combinedValue(list, lower) {
    let value = null;
    for (const entry of list) if (entry[1] === lower) value = value === null ? entry[2] : `${value}, ${entry[2]}`;
    return value;
  }

  // HeadersInit: an iterable is a sequence of pairs (a Headers object too: its sorted, combined
  // pairs), any other object a record of its own enumerable string keys.
  function fillHeaders(headers, init, where) {
    for (const [name, value] of headersInit(init, where)) appendHeader(headers, name, value, where);
  }
  function headersInit(init, where) {
    if (init === null || (typeof init !== 'object' && typeof init !== 'function')) {
      throw fail(where, "The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.");
    }
    const pairs = [];
    const iterator = init[Symbol.iterator];
    if (iterator !== undefined && iterator !== null) {
      if (typeof iterator !== 'function') throw fail(where, 'The object must have a callable @@iterator property.');
      for (const pair of { [Symbol.iterator]: () => apply(iterator, init, []) }) {
        if (pair === null || (typeof pair !== 'object' && typeof pair !== 'function') || typeof pair[Symbol.iterator] !== 'function') {
          throw fail(where, 'The provided value cannot be converted to a sequence.');
        }
        const items = [];
        for (const item of pair) items.push(byteString(item, where));
        if (items.length !== 2) throw fail(where, 'Invalid value');
        pairs.push(items);
      }
      return pairs;
    }
    for (const key of Reflect.ownKeys(init)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(init, key);
      if (descriptor !== undefined && descriptor.enumerable) pairs.push([byteString(key, where), byteString(init[key], where)]);
    }
    return pairs;
  }

  const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
  class HeadersIterator {
    #headers;
    #kind;
    #index = 0;

    constructor(headers, kind) {
      this.#headers = headers;
      this.#kind = kind;
    }

    next() {
      if (!(#kind in this)) throw new TypeError('Illegal invocation');
      const pairs = sortAndCombine(this.#headers);
      if (this.#index >= pairs.length) return { value: undefined, done: true };
      const pair = pairs[this.#index++];
      return { value: this.#kind === 0 ? pair[0] : this.#kind === 1 ? pair[1] : [pair[0], pair[1]], done: false };
    }
  }
  Object.setPrototypeOf(HeadersIterator.prototype, IteratorPrototype);
  delete HeadersIterator.prototype.constructor;
  Object.defineProperty(HeadersIterator.prototype, Symbol.toStringTag, { value: 'Headers Iterator', configurable: true });

  // ---- Body -------------------------------------------------------------------------------------
  // A body is { bytes: Uint8Array } or { blob } (read when consumed), never handed out: every read
  // returns a copy. `signal` is a fetch's signal: once it aborts, reading the body rejects with its
  // reason, as the spec's errored stream would.
  const EMPTY = new Uint8Array(0);

  // "extract a body": returns [body, Content-Type or null]; null body for null/undefined.
  function extractBody(init, where) {
    if (init === null || init === undefined) return [null, null];
    if (init instanceof Blob) return [{ blob: init }, init.type === '' ? null : init.type];
    if (init instanceof ArrayBuffer) return [{ bytes: new Uint8Array(init.slice(0)) }, null];
    if (ArrayBuffer.isView(init)) return [{ bytes: new Uint8Array(init.buffer, init.byteOffset, init.byteLength).slice() }, null];
    if (init instanceof URLSearchParams) {
      return [{ bytes: encoder.encode(init.toString()) }, 'application/x-www-form-urlencoded;charset=UTF-8'];
    }
    if (typeof init === 'object' && Object.prototype.toString.call(init) === '[object ReadableStream]') {
      throw fail(where, 'ReadableStream bodies are not supported.');
    }
    return [{ bytes: encoder.encode(`${init}`) }, 'text/plain;charset=UTF-8'];
  }

  async function bodyBytes(body) {
    if (body === null) return EMPTY;
    if (body.bytes) return body.bytes;
    return new Uint8Array(await body.blob.arrayBuffer());
  }

  // The body mixin, on both prototypes; `stateOf` is the class's brand check.
  function installBody(prototype, stateOf, iface) {
    const consume = async (object, kind) => {
      const state = stateOf(object);
      if (state.body !== null && state.used) throw fail(`execute '${kind}' on '${iface}'`, 'body stream already read');
      if (kind === 'formData') throw fail(`execute '${kind}' on '${iface}'`, 'FormData is not supported.');
      if (state.body !== null) state.used = true;
      if (state.signal && state.signal.aborted) throw state.signal.reason;
      const bytes = await bodyBytes(state.body);
      switch (kind) {
        case 'arrayBuffer': return bytes.slice().buffer;
        case 'bytes': return bytes.slice();
        case 'blob': return new Blob([bytes], { type: combinedValue(headersList(state.headers), 'content-type') ?? '' });
        case 'text': return decoder.decode(bytes);
        default: return JSON.parse(decoder.decode(bytes));
      }
    };
    const methods = {
      arrayBuffer() { return consume(this, 'arrayBuffer'); },
      blob() { return consume(this, 'blob'); },
      bytes() { return consume(this, 'bytes'); },
      formData() { return consume(this, 'formData'); },
      json() { return consume(this, 'json'); },
      text() { return consume(this, 'text'); },
      get bodyUsed() {
        const state = stateOf(this);
        return state.body !== null && state.used;
      },
    };
    for (const key of Reflect.ownKeys(methods)) {
      Object.defineProperty(prototype, key, { ...Reflect.getOwnPropertyDescriptor(methods, key), enumerable: false });
    }
    Object.defineProperty(prototype, Symbol.toStringTag, { value: iface, configurable: true });
  }

  // ---- Request ----------------------------------------------------------------------------------
  const REQUEST_INIT_KEYS = ['body', 'cache', 'credentials', 'duplex', 'headers', 'integrity', 'keepalive', 'method',
    'mode', 'priority', 'redirect', 'referrer', 'referrerPolicy', 'signal', 'window'];
  let requestState;
  let isRequest;

  // WebIDL RequestInit: members read once, in lexicographic order, converted as they are read.
  function readRequestInit(init, where) {
    const out = { __proto__: null };
    if (init === undefined || init === null) return out;
    if (typeof init !== 'object' && typeof init !== 'function') throw fail(where, "The provided value is not of type 'RequestInit'.");
    for (const key of REQUEST_INIT_KEYS) {
      const value = init[key];
      if (value === undefined) continue;
      if (key in ENUMS) out[key] = enumValue(value, key, where);
      else if (key === 'headers') out.headers = headersInit(value, where);
      else if (key === 'integrity') out.integrity = `${value}`;
      else if (key === 'keepalive') out.keepalive = !!value;
      else if (key === 'method') out.method = byteString(value, where);
      else if (key === 'referrer') out.referrer = `${value}`;
      else if (key === 'signal') {
        if (value !== null && !(value instanceof AbortSignal)) {
          throw fail(where, "Failed to read the 'signal' property from 'RequestInit': Failed to convert value to 'AbortSignal'.");
        }
        out.signal = value;
      } else out[key] = value;
    }
    return out;
  }

  function parseUrl(text, base) {
    try {
      return base === undefined ? new URL(text) : new URL(text, base);
    } catch {
      return null;
    }
  }

  // Private fields exist only on objects their constructor made: internal copies go through the
  // constructor with the state to install here (set just before, cleared by it).
  let pendingState = null;
  const takePendingState = () => {
    const state = pendingState;
    pendingState = null;
    return state;
  };

  class Request {
    #state;

    constructor(input, init = undefined) {
      if (pendingState !== null) {
        this.#state = takePendingState();
        return;
      }
      need(arguments.length, 1, "construct 'Request'");
      this.#state = constructRequest(input, init, "construct 'Request'");
    }

    get method() { return requestState(this).method; }
    get url() { return requestState(this).url; }
    get headers() { return requestState(this).headers; }
    get destination() { requestState(this); return ''; }
    get referrer() {
      const { referrer } = requestState(this);
      return referrer === 'no-referrer' ? '' : referrer === 'client' ? 'about:client' : referrer;
    }
    get referrerPolicy() { return requestState(this).referrerPolicy; }
    get mode() { return requestState(this).mode; }
    get credentials() { return requestState(this).credentials; }
    get cache() { return requestState(this).cache; }
    get redirect() { return requestState(this).redirect; }
    get integrity() { return requestState(this).integrity; }
    get keepalive() { return requestState(this).keepalive; }
    get isReloadNavigation() { requestState(this); return false; }
    get isHistoryNavigation() { requestState(this); return false; }
    get duplex() { requestState(this); return 'half'; }

    // The exposed signal follows the request's source signal; made on first read (a fresh
    // AbortSignal.any of the source behaves exactly like one made at construction).
    get signal() {
      const state = requestState(this);
      if (state.exposedSignal === null) state.exposedSignal = AbortSignal.any(state.signal === null ? [] : [state.signal]);
      return state.exposedSignal;
    }

    clone() {
      const state = requestState(this);
      if (state.body !== null && state.used) throw fail("execute 'clone' on 'Request'", 'Request body is already used');
      pendingState = { ...state, headers: newHeaders(headersGuardOf(state.headers), headersList(state.headers).slice()), exposedSignal: null };
      return new Request();
    }

    static {
      requestState = (value) => {
        if (typeof value !== 'object' || value === null || !(#state in value)) throw new TypeError('Illegal invocation');
        return value.#state;
      };
      isRequest = (value) => typeof value === 'object' && value !== null && #state in value;
    }
  }
  installBody(Request.prototype, requestState, 'Request');

  // The Request constructor's steps (Fetch, "new Request(input, init)"), for both the constructor
  // and fetch(); `where` names the caller in error messages.
  function constructRequest(input, init, where) {
    let base;
    let inputBody = null;
    if (isRequest(input)) {
      base = requestState(input);
      inputBody = base.body;
    } else {
      const text = `${input}`;
      const parsed = parseUrl(text);
      if (parsed === null) throw fail(where, `Failed to parse URL from ${text}`);
      if (parsed.username !== '' || parsed.password !== '') {
        throw fail(where, `Request cannot be constructed from a URL that includes credentials: ${text}`);
      }
      base = {
        url: parsed.href, method: 'GET', headers: null, body: null, mode: 'cors', credentials: 'same-origin',
        cache: 'default', redirect: 'follow', referrer: 'client', referrerPolicy: '', integrity: '',
        keepalive: false, signal: null,
      };
    }
    const options = readRequestInit(init, where);
    const state = { ...base, used: false, exposedSignal: null };
    let empty = true;
    for (const _ in options) empty = false;
    if (!empty) {
      if (state.mode === 'navigate') state.mode = 'same-origin';
      state.referrer = 'client';
      state.referrerPolicy = '';
    }
    if (options.window !== undefined && options.window !== null) throw fail(where, "'window' must be null");
    if (options.referrer !== undefined) {
      if (options.referrer === '') state.referrer = 'no-referrer';
      else if (parseUrl(options.referrer) === null) throw fail(where, `Referrer '${options.referrer}' is not a valid URL.`);
      // A parsed referrer of another origin becomes "client"; this isolate's origin is opaque, so
      // every origin is another one.
      else state.referrer = 'client';
    }
    if (options.referrerPolicy !== undefined) state.referrerPolicy = options.referrerPolicy;
    if (options.mode === 'navigate') throw fail(where, 'Cannot construct a Request with a RequestInit whose mode member is set as \'navigate\'.');
    if (options.mode !== undefined) state.mode = options.mode;
    if (options.credentials !== undefined) state.credentials = options.credentials;
    if (options.cache !== undefined) state.cache = options.cache;
    if (state.cache === 'only-if-cached' && state.mode !== 'same-origin') {
      throw fail(where, "'only-if-cached' can be set only with 'same-origin' mode");
    }
    if (options.redirect !== undefined) state.redirect = options.redirect;
    if (options.integrity !== undefined) state.integrity = options.integrity;
    if (options.keepalive !== undefined) state.keepalive = options.keepalive;
    if (options.method !== undefined) {
      let method = options.method;
      if (!TOKEN.test(method)) throw fail(where, `'${method}' is not a valid HTTP method.`);
      const upper = method.toUpperCase();
      if (FORBIDDEN_METHODS.has(upper)) throw fail(where, `'${method}' HTTP method is unsupported.`);
      if (NORMALISED_METHODS.has(upper)) method = upper;
      state.method = method;
    }
    if (options.signal !== undefined) state.signal = options.signal;
    if (state.mode === 'no-cors' && state.method !== 'GET' && state.method !== 'HEAD' && state.method !== 'POST') {
      throw fail(where, `'${state.method}' is unsupported in no-cors mode.`);
    }
    // Headers: the input's list copied, or init.headers; appended under the "request" guard, which
    // drops forbidden request-headers silently.
    const headers = newHeaders('request', []);
    if (options.headers !== undefined) {
      for (const [name, value] of options.headers) appendHeader(headers, name, value, where);
    } else if (base.headers !== null) {
      for (const entry of headersList(base.headers)) headersAppend(headers, entry[0], entry[1], entry[2]);
    }
    state.headers = headers;
    const initBody = options.body;
    if (((initBody !== undefined && initBody !== null) || inputBody !== null) && (state.method === 'GET' || state.method === 'HEAD')) {
      throw fail(where, 'Request with GET/HEAD method cannot have body.');
    }
    if (initBody !== undefined && initBody !== null) {
      const [body, contentType] = extractBody(initBody, where);
      state.body = body;
      if (contentType !== null && combinedValue(headersList(headers), 'content-type') === null) {
        headersAppend(headers, 'Content-Type', 'content-type', contentType);
      }
    } else if (inputBody !== null) {
      // The new request takes the input's body; the input is used up (its bodyUsed turns true).
      if (base.used) throw fail(where, 'Cannot construct a Request with a Request object that has already been used.');
      base.used = true;
    }
    return state;
  }

  // ---- Response ---------------------------------------------------------------------------------
  let responseState;
  let newResponse;

  function readResponseInit(init, where) {
    if (init === undefined || init === null) return { headers: undefined, status: 200, statusText: '' };
    if (typeof init !== 'object' && typeof init !== 'function') throw fail(where, "The provided value is not of type 'ResponseInit'.");
    const headers = init.headers === undefined ? undefined : headersInit(init.headers, where);
    const status = init.status === undefined ? 200 : (Math.trunc(Number(init.status)) || 0) & 0xffff;
    const statusText = init.statusText === undefined ? '' : byteString(init.statusText, where);
    return { headers, status, statusText };
  }

  // "initialize a response"
  function initialiseResponse(init, body, contentType, where) {
    const { headers: pairs, status, statusText } = readResponseInit(init, where);
    if (status < 200 || status > 599) {
      throw new RangeError(`Failed to ${where}: The status provided (${status}) is outside the range [200, 599].`);
    }
    if (/[^\t\x20-\x7e\x80-\xff]/.test(statusText)) throw fail(where, 'Invalid statusText');
    const headers = newHeaders('response', []);
    if (pairs !== undefined) for (const [name, value] of pairs) appendHeader(headers, name, value, where);
    if (body !== null) {
      if (NULL_BODY_STATUSES.has(status)) throw fail(where, 'Response with null body status cannot have body');
      if (contentType !== null && combinedValue(headersList(headers), 'content-type') === null) {
        headersAppend(headers, 'Content-Type', 'content-type', contentType);
      }
    }
    return newResponse({ type: 'default', status, statusText, headers, body, url: '', redirected: false, signal: null });
  }

  class Response {
    #state;

    constructor(body = null, init = undefined) {
      if (pendingState !== null) {
        this.#state = takePendingState();
        return;
      }
      const where = "construct 'Response'";
      const [extracted, contentType] = extractBody(body, where);
      this.#state = responseState(initialiseResponse(init, extracted, contentType, where));
    }

    static error() {
      return newResponse({ type: 'error', status: 0, statusText: '', headers: newHeaders('immutable', []), body: null, url: '', redirected: false, signal: null });
    }

    static redirect(url, status = 302) {
      const where = "execute 'redirect' on 'Response'";
      need(arguments.length, 1, where);
      const parsed = parseUrl(`${url}`);
      if (parsed === null) throw fail(where, 'Invalid URL');
      const code = (Math.trunc(Number(status)) || 0) & 0xffff;
      if (!REDIRECT_STATUSES.has(code)) throw new RangeError(`Failed to ${where}: Invalid status code`);
      const headers = newHeaders('immutable', [['Location', 'location', parsed.href]]);
      return newResponse({ type: 'default', status: code, statusText: '', headers, body: null, url: '', redirected: false, signal: null });
    }

    static json(data, init = undefined) {
      const where = "execute 'json' on 'Response'";
      need(arguments.length, 1, where);
      const text = JSON.stringify(data);
      if (text === undefined) throw fail(where, 'The data is not JSON serializable');
      return initialiseResponse(init, { bytes: encoder.encode(text) }, 'application/json', where);
    }

    get type() { return responseState(this).type; }
    get url() { return responseState(this).url; }
    get redirected() { return responseState(this).redirected; }
    get status() { return responseState(this).status; }
    get ok() {
      const { status } = responseState(this);
      return status >= 200 && status <= 299;
    }
    get statusText() { return responseState(this).statusText; }
    get headers() { return responseState(this).headers; }

    clone() {
      const state = responseState(this);
      if (state.body !== null && state.used) throw fail("execute 'clone' on 'Response'", 'Response body is already used');
      return newResponse({ ...state, used: false, headers: newHeaders(headersGuardOf(state.headers), headersList(state.headers).slice()) });
    }

    static {
      responseState = (value) => {
        if (typeof value !== 'object' || value === null || !(#state in value)) throw new TypeError('Illegal invocation');
        return value.#state;
      };
      newResponse = (state) => {
        pendingState = { used: false, ...state };
        return new Response();
      };
    }
  }
  installBody(Response.prototype, responseState, 'Response');

  // WebIDL operations and attributes are enumerable (for-in over a Response lists them, as in Chrome).
  for (const target of [Headers.prototype, Request.prototype, Response.prototype, Response]) {
    for (const key of Reflect.ownKeys(target)) {
      if (typeof key === 'string' && !['constructor', 'prototype', 'length', 'name'].includes(key)) {
        Object.defineProperty(target, key, { enumerable: true });
      }
    }
  }

  // ---- fetch ------------------------------------------------------------------------------------
  const FETCH = "execute 'fetch' on 'WorkerGlobalScope'";
  const networkError = () => new TypeError('Failed to fetch');
  const hrefWithoutFragment = (url) => {
    const href = url.href;
    const hash = href.indexOf('#');
    return hash < 0 ? href : href.slice(0, hash);
  };

  // Settles with the host's answer, or rejects with the signal's reason as soon as it aborts (the
  // host request may run on; its answer is dropped).
  function untilAborted(promise, signal) {
    if (signal === null) return promise;
    return new NativePromise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort);
      (async () => {
        try {
          resolve(await promise);
        } catch (error) {
          reject(error);
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
      })();
    });
  }

  // SECURITY: the answer is read field by field into our own values; nothing of it is kept.
  function readAnswer(answer) {
    if (typeof answer !== 'object' || answer === null) throw networkError();
    const { status, statusText, headers: pairs, body } = answer;
    if (!Number.isInteger(status) || status < 200 || status > 599 || typeof statusText !== 'string'
        || !Array.isArray(pairs) || typeof body !== 'string') throw networkError();
    const headers = newHeaders('immutable', []);
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string'
          || !TOKEN.test(pair[0]) || !isHeaderValue(pair[1])) throw networkError();
      headersAppend(headers, pair[0], pair[0].toLowerCase(), pair[1]);
    }
    const bytes = fromBase64(body);
    if (bytes === null) throw networkError();
    return { status, statusText, headers, bytes };
  }

  async function fetchRequest(state) {
    const signal = state.signal;
    if (signal !== null && signal.aborted) throw signal.reason;
    let url = new URL(state.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw networkError();
    let method = state.method;
    // Our own copy of the list: redirects edit it, the Request's headers stay as they were.
    // Index loops, no array methods: what goes into a frame does not pass through Array.prototype
    // (a script may have patched it; the host re-checks the frame either way).
    const list = headersList(state.headers);
    const headers = [];
    let hasAccept = false;
    for (let i = 0; i < list.length; i++) {
      headers[i] = [list[i][0], list[i][1], list[i][2]];
      hasAccept ||= list[i][1] === 'accept';
    }
    if (!hasAccept) headers[headers.length] = ['Accept', 'accept', '*/*'];
    let body = state.body === null ? null : toBase64(await bodyBytes(state.body));
    for (let redirects = 0; ; redirects++) {
      if (signal !== null && signal.aborted) throw signal.reason;
      const frameHeaders = [];
      for (let i = 0; i < headers.length; i++) frameHeaders[i] = [headers[i][0], headers[i][2]];
      const frame = { url: hrefWithoutFragment(url), method, headers: frameHeaders, body, redirect: state.redirect };
      const answer = readAnswer(await untilAborted(send(frame), signal));
      if (signal !== null && signal.aborted) throw signal.reason;
      const locations = [];
      for (const entry of headersList(answer.headers)) if (entry[1] === 'location') locations.push(entry[2]);
      if (REDIRECT_STATUSES.has(answer.status) && locations.length !== 0 && state.redirect !== 'manual') {
        // HTTP-redirect fetch (Fetch, 4.4).
        if (state.redirect === 'error' || locations.length > 1) throw networkError();
        const location = parseUrl(locations[0], url.href);
        if (location === null || (location.protocol !== 'http:' && location.protocol !== 'https:')) throw networkError();
        if (location.username !== '' || location.password !== '') throw networkError();
        if (redirects === MAX_REDIRECTS) throw networkError();
        if (((answer.status === 301 || answer.status === 302) && method === 'POST')
            || (answer.status === 303 && method !== 'GET' && method !== 'HEAD')) {
          method = 'GET';
          body = null;
          removeHeaders(headers, REQUEST_BODY_HEADERS);
        }
        // SECURITY: credentials a script set for one origin do not follow a redirect to another.
        if (location.origin !== url.origin) removeHeaders(headers, ['authorization']);
        url = location;
        continue;
      }
      const nullBody = NULL_BODY_STATUSES.has(answer.status) || method === 'HEAD';
      return newResponse({
        type: 'basic', status: answer.status, statusText: answer.statusText, headers: answer.headers,
        body: nullBody ? null : { bytes: answer.bytes }, url: hrefWithoutFragment(url), redirected: redirects > 0, signal,
      });
    }
  }

  function removeHeaders(headers, lowerNames) {
    let kept = 0;
    for (let i = 0; i < headers.length; i++) {
      let remove = false;
      for (let j = 0; j < lowerNames.length; j++) remove ||= headers[i][1] === lowerNames[j];
      if (!remove) headers[kept++] = headers[i];
    }
    headers.length = kept;
  }

  // Constructing the request (which uses up a Request input's body) happens before fetch returns.
  async function fetch(input, init = undefined) {
    need(arguments.length, 1, FETCH);
    return fetchRequest(constructRequest(input, init, FETCH));
  }

  return { fetch, Headers, Request, Response };
}
