// Blob (File API), in memory. Written here: the maintained polyfills are browser shims (blob-polyfill
// patches URL and FileReader) or tied to Node's streams; an in-memory Blob is a byte array and the
// spec's few algorithms. Its bytes live in one Uint8Array, so its size is bounded by the execution's
// ArrayBuffer limit like any other buffer. No stream(): this isolate has no ReadableStream.
export function createBlob(encoding) {
  const encoder = new encoding.TextEncoder();
  const decoder = new encoding.TextDecoder();

  function normaliseType(type) {
    // "If type contains any characters outside the range U+0020 to U+007E, set it to the empty
    // string; otherwise convert it to ASCII lowercase."
    const text = String(type);
    return /^[\x20-\x7e]*$/.test(text) ? text.toLowerCase() : '';
  }

  // Set by Blob's static block (only code inside the class body can read its private fields).
  let isBlob;
  let bytesOf;

  function partBytes(part, endings) {
    if (isBlob(part)) return bytesOf(part);
    if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength).slice();
    if (part instanceof ArrayBuffer) return new Uint8Array(part.slice(0));
    let text = String(part);
    if (endings === 'native') text = text.replace(/\r\n|\r/g, '\n');
    return encoder.encode(text);
  }

  class Blob {
    #bytes;
    #type;

    constructor(blobParts = undefined, options = undefined) {
      const endings = options == null ? 'transparent' : options.endings === undefined ? 'transparent' : String(options.endings);
      if (endings !== 'transparent' && endings !== 'native') {
        throw new TypeError(`Failed to construct 'Blob': The provided value '${endings}' is not a valid enum value of type EndingType.`);
      }
      const parts = [];
      if (blobParts !== undefined) {
        if (blobParts === null || (typeof blobParts !== 'object' && typeof blobParts !== 'function') || typeof blobParts[Symbol.iterator] !== 'function') {
          throw new TypeError("Failed to construct 'Blob': The provided value cannot be converted to a sequence.");
        }
        for (const part of blobParts) parts.push(partBytes(part, endings));
      }
      let size = 0;
      for (const p of parts) size += p.byteLength;
      const bytes = new Uint8Array(size);
      let offset = 0;
      for (const p of parts) {
        bytes.set(p, offset);
        offset += p.byteLength;
      }
      this.#bytes = bytes;
      this.#type = options == null || options.type === undefined ? '' : normaliseType(options.type);
    }

    get size() {
      return brand(this).#bytes.byteLength;
    }

    get type() {
      return brand(this).#type;
    }

    slice(start = undefined, end = undefined, contentType = undefined) {
      const bytes = brand(this).#bytes;
      const size = bytes.byteLength;
      const clamp = (value, fallback) => {
        if (value === undefined) return fallback;
        const n = Math.trunc(Number(value)) || 0;
        return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
      };
      const from = clamp(start, 0);
      const to = clamp(end, size);
      const blob = new Blob();
      blob.#bytes = bytes.slice(from, Math.max(from, to));
      blob.#type = contentType === undefined ? '' : normaliseType(contentType);
      return blob;
    }

    text() {
      try {
        return Promise.resolve(decoder.decode(brand(this).#bytes));
      } catch (e) {
        return Promise.reject(e);
      }
    }

    arrayBuffer() {
      try {
        return Promise.resolve(brand(this).#bytes.slice().buffer);
      } catch (e) {
        return Promise.reject(e);
      }
    }

    bytes() {
      try {
        return Promise.resolve(brand(this).#bytes.slice());
      } catch (e) {
        return Promise.reject(e);
      }
    }

    static {
      isBlob = (value) => typeof value === 'object' && value !== null && #bytes in value;
      bytesOf = (blob) => blob.#bytes;
    }
  }
  Object.defineProperty(Blob.prototype, Symbol.toStringTag, { value: 'Blob', configurable: true });

  function brand(value) {
    if (!isBlob(value)) throw new TypeError('Illegal invocation');
    return value;
  }

  return Blob;
}
