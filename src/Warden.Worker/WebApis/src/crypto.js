// crypto.getRandomValues and crypto.randomUUID (WebCrypto), backed by the worker's CSPRNG.
// SECURITY: the only way out of the isolate is host.randomBytes(n): a count goes out (checked here
// and again in .NET, at most 65536), a string of n chars 0..255 comes back. No typed array, no
// object crosses. crypto.subtle is not provided.
const MAX_BYTES = 65536;
const INTEGER_ARRAYS = new Set(['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array']);

export function createCrypto(DOMException, host) {
  const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
  const tagOf = Object.getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag).get;
  const lengthOf = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'byteLength').get;
  const bufferOf = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'buffer').get;
  const offsetOf = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'byteOffset').get;
  let constructing = false;

  function fill(view, byteOffset, byteLength) {
    const bytes = host.randomBytes(byteLength);
    if (typeof bytes !== 'string' || bytes.length !== byteLength) throw new DOMException('The random source failed', 'OperationError');
    for (let i = 0; i < byteLength; i++) view[byteOffset + i] = bytes.charCodeAt(i);
  }

  class Crypto {
    constructor() {
      if (!constructing) throw new TypeError('Illegal constructor');
    }

    getRandomValues(array) {
      if (!(this instanceof Crypto)) throw new TypeError('Illegal invocation');
      if (arguments.length < 1) {
        throw new TypeError("Failed to execute 'getRandomValues' on 'Crypto': 1 argument required, but only 0 present.");
      }
      if (!ArrayBuffer.isView(array)) {
        throw new TypeError("Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.");
      }
      // A DataView is an ArrayBufferView too (so no TypeError), but not an integer array.
      const tag = tagOf.call(array);
      if (tag === undefined || !INTEGER_ARRAYS.has(tag)) {
        throw new DOMException(`Failed to execute 'getRandomValues' on 'Crypto': The provided ArrayBufferView is of type '${tag ?? 'DataView'}', which is not an integer array type.`, 'TypeMismatchError');
      }
      const byteLength = lengthOf.call(array);
      if (byteLength > MAX_BYTES) {
        throw new DOMException(`Failed to execute 'getRandomValues' on 'Crypto': The ArrayBufferView's byte length (${byteLength}) exceeds the number of bytes of entropy available via this API (${MAX_BYTES}).`, 'QuotaExceededError');
      }
      fill(new Uint8Array(bufferOf.call(array)), offsetOf.call(array), byteLength);
      return array;
    }

    randomUUID() {
      if (!(this instanceof Crypto)) throw new TypeError('Illegal invocation');
      const bytes = new Uint8Array(16);
      fill(bytes, 0, 16);
      bytes[6] = (bytes[6] & 0x0f) | 0x40;   // version 4
      bytes[8] = (bytes[8] & 0x3f) | 0x80;   // variant 10
      let hex = '';
      for (let i = 0; i < 16; i++) {
        hex += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
        if (i === 3 || i === 5 || i === 7 || i === 9) hex += '-';
      }
      return hex;
    }
  }
  Object.defineProperty(Crypto.prototype, Symbol.toStringTag, { value: 'Crypto', configurable: true });

  constructing = true;
  const crypto = new Crypto();
  constructing = false;
  return { Crypto, crypto };
}
