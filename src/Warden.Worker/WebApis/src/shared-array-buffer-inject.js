// esbuild `inject`: free references to SharedArrayBuffer in bundled libraries bind to this stand-in.
// webidl-conversions and whatwg-url read SharedArrayBuffer.prototype's getters when they load, to tell
// shared buffers apart; Warden removes SharedArrayBuffer unless the operator enables it. The stand-in's
// getters throw, so "is this a SharedArrayBuffer?" answers no (code that checks the global first, or
// Object.prototype.toString, still recognises a real one when the operator enabled them).
class SharedArrayBufferStandIn {
  get byteLength() {
    throw new TypeError('not a SharedArrayBuffer');
  }

  get growable() {
    throw new TypeError('not a SharedArrayBuffer');
  }
}
export { SharedArrayBufferStandIn as SharedArrayBuffer };
